"""Imgen Desktop: train GAN, VAE and RNN image models and enhance photos with them."""

__version__ = "0.1.0"
APP_NAME = "Imgen Desktop"
APP_ID = "imgen-desktop"
