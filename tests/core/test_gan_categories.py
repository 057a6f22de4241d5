"""The GAN's categorical code (InfoGAN, core/models/gan.py): one extra standard-normal latent
coordinate picks one of K categories; the discriminator's Q head learns to tell them apart."""
from __future__ import annotations

import numpy as np
import torch

from onnx_helpers import assert_onnx_matches

from imgen_desktop.core.models import gan


def test_the_extra_coordinate_picks_equally_likely_categories():
    g = gan.Generator(z_dim=8, channels=1, width=8, image_size=16, categories=5).eval()
    assert g.latent_shape == (9,)
    z = torch.randn(20000, 9, generator=torch.Generator().manual_seed(0))
    counts = np.bincount(g.category(z).numpy(), minlength=5)
    assert counts.min() > 0.18 * len(z) and counts.max() < 0.22 * len(z)
    # the category is a function of the last coordinate alone: its normal-CDF quintile
    edges = torch.tensor([-0.8416, -0.2533, 0.2533, 0.8416])
    last = torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0])
    probe = torch.cat([torch.zeros(5, 8), last[:, None]], 1)
    assert g.category(probe).tolist() == torch.bucketize(last, edges).tolist() == [0, 1, 2, 3, 4]
    # the one-hot code reaches the first layer: the same continuous code in two categories differs
    with torch.no_grad():
        a, b = g(probe[:1]), g(probe[4:5])
    assert (a - b).abs().max() > 1e-4


def test_files_without_categories_build_the_plain_generator():
    plain = gan.build_generator({"z_dim": 8, "channels": 1, "width": 8, "image_size": 16})
    assert plain.categories == 0 and plain.latent_shape == (8,)
    coded = gan.build_generator({"z_dim": 8, "channels": 1, "width": 8, "image_size": 16, "categories": 3})
    assert coded.latent_shape == (9,)
    assert "category_cum" not in coded.state_dict()  # derived from the count, not stored


def _train(tmp_path, monkeypatch, steps, **kw):
    monkeypatch.setenv("IMGEN_HOME", str(tmp_path))
    from imgen_desktop.core import trainer
    from imgen_desktop.core.config import TrainConfig
    from imgen_desktop.core.events import Metrics

    cfg = TrainConfig(family="gan", task="generate", data="builtin:digits", image_size=16, width=8, z_dim=16,
                      batch_size=32, steps=steps, lr=1e-3, sample_every=0, checkpoint_every=0, device="cpu",
                      name="cat", ema=0.0, **kw)
    metrics = []
    result = trainer.train(cfg, lambda e: metrics.append(e.values) if isinstance(e, Metrics) else None)
    assert type(result).__name__ == "Finished", getattr(result, "message", result)
    return result, metrics


def test_a_run_with_categories_learns_them_and_exports_a_generator_that_uses_them(tmp_path, monkeypatch):
    from imgen_desktop.core.generate import load_generator
    from imgen_desktop.core.store import read_meta

    result, metrics = _train(tmp_path, monkeypatch, 80, categories=4, gan_loss="hinge", spectral_norm=True)
    info = [float(m["loss.info"]) for m in metrics if "loss.info" in m]
    assert info, "the info loss is reported"
    # the Q head starts at chance (ln 4 = 1.39 nats) and the generator makes its categories
    # recognisable to it
    assert info[-1] < 0.5 * np.log(4)
    assert read_meta(result.model_path)["arch_params"]["categories"] == 4
    gen = load_generator(result.model_path)
    assert gen.latent_shape == (17,)
    pics = gen.sample(3, seed=2)
    assert pics.shape == (3, 16, 16, 1) and np.array_equal(pics[1], gen.sample(1, seed=3)[0])
    # the same continuous code in each category: four different pictures
    z = torch.zeros(4, 17)
    z[:, 16] = torch.tensor([-2.0, -0.3, 0.3, 2.0])
    with torch.no_grad():
        out = gen.net(z).flatten(1)
    assert torch.cdist(out, out)[~torch.eye(4, dtype=torch.bool)].min() > 0.5


def test_categories_export_to_onnx_unchanged(tmp_path):
    net = gan.Generator(z_dim=8, channels=1, width=8, image_size=16, categories=3).eval()
    meta = {"arch": "gan.dcgan", "family": "gan", "task": "generate", "channels": 1, "image_size": 16,
            "arch_params": {"z_dim": 8, "channels": 1, "width": 8, "image_size": 16, "categories": 3}}
    assert_onnx_matches(tmp_path, net, meta, torch.randn(9, 9, generator=torch.Generator().manual_seed(0)))


def test_the_temperature_scales_the_continuous_code_of_the_exported_model_only(tmp_path, monkeypatch):
    from imgen_desktop.core.generate import load_generator
    from imgen_desktop.core.store import read_meta

    result, _ = _train(tmp_path, monkeypatch, 4, categories=3, temperature=0.5)
    assert read_meta(result.model_path)["arch_params"]["temperature"] == 0.5
    gen = load_generator(result.model_path)
    net = gen.net
    assert net.temperature == 0.5
    z = torch.randn(4, 17, generator=torch.Generator().manual_seed(0))
    code = net.code(z)
    assert torch.allclose(code[:, :16], 0.5 * z[:, :16]) and torch.equal(code[:, 16:].sum(1), torch.ones(4))
    net.temperature = 1.0
    with torch.no_grad():
        hot = net(z)
    net.temperature = 0.5
    with torch.no_grad():
        assert not torch.allclose(net(z), hot)
    # files from before carry no temperature: 1
    assert gan.build_generator({"z_dim": 8, "channels": 1, "width": 8, "image_size": 16}).temperature == 1.0
