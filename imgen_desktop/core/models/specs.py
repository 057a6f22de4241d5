"""Hard bounds on every architecture hyper-parameter a model file may carry (no torch here).

A model file's header says how to build its network (``arch`` and ``arch_params``). Those
numbers come from outside, so before anything is built they are checked here: the right type
(whole numbers are ints, not floats, strings or booleans), inside a range that no sane model
exceeds, and consistent with the file's family, task and scale. What is left is then checked
against the tensors actually present in the file (``core.models.files``), so a network can
never be bigger than the file that describes it.

:func:`check_params` returns the clean parameters (defaults filled in, unknown keys dropped)
or raises :class:`~imgen_desktop.core.errors.ModelError` with one sentence.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imgen_desktop.core.errors import ModelError
from imgen_desktop.core.tasks import ENHANCE_TASKS


@dataclass(frozen=True)
class Int:
    lo: int
    hi: int
    default: int | None = None
    power_of_two: bool = False

    def check(self, key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ModelError(f"{key} must be a whole number, not {_show(value)}")
        if not self.lo <= value <= self.hi:
            raise ModelError(f"{key} = {_show(value)} is out of range ({self.lo} to {self.hi})")
        if self.power_of_two and value & (value - 1):
            raise ModelError(f"{key} = {value} must be a power of two")
        return value


@dataclass(frozen=True)
class Float:
    lo: float
    hi: float
    default: float | None = None

    def check(self, key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ModelError(f"{key} must be a number, not {_show(value)}")
        if not self.lo <= value <= self.hi:  # also False for NaN
            raise ModelError(f"{key} = {_show(value)} is out of range ({self.lo} to {self.hi})")
        return float(value)


@dataclass(frozen=True)
class Choice:
    values: tuple
    default: Any = None

    def check(self, key: str, value: Any) -> Any:
        # bool is an int in Python: compare types too, so True is not accepted for 1
        if not any(type(value) is type(v) and value == v for v in self.values):
            raise ModelError(f"{key} must be one of {', '.join(map(str, self.values))}, not {_show(value)}")
        return value


@dataclass(frozen=True)
class IntList:
    item: Int
    max_len: int
    default: tuple = (1,)

    def check(self, key: str, value: Any) -> list[int]:
        if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= self.max_len:
            raise ModelError(f"{key} must be a list of 1 to {self.max_len} whole numbers, not {_show(value)}")
        return [self.item.check(f"{key}[{i}]", v) for i, v in enumerate(value)]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_CHANNELS = Choice((1, 3), 3)
_SIZE = Int(8, 512, 32, power_of_two=True)

SPECS: dict[str, dict[str, Any]] = {
    "gan.dcgan": {
        "z_dim": Int(1, 4096, 100), "channels": _CHANNELS, "width": Int(1, 1024, 64),
        "image_size": Int(8, 256, 32, power_of_two=True), "categories": Int(0, 256, 0),
        "temperature": Float(0.05, 4.0, 1.0),
    },
    "vae.conv": {"size": _SIZE, "channels": _CHANNELS, "latent_dim": Int(1, 4096, 32), "width": Int(1, 1024, 32),
                 "prior_components": Int(0, 64, 0)},
    "rnn.draw": {
        "size": _SIZE, "channels": _CHANNELS, "z_dim": Int(1, 4096, 16), "hidden": Int(1, 4096, 256),
        "steps": Int(1, 256, 8), "prior_components": Int(0, 64, 0), "prior_dims": Int(0, 4096, 0),
    },
}
_RESTORE_COMMON = {
    "channels": _CHANNELS, "task": Choice(tuple(ENHANCE_TASKS)), "scale": Choice((1, 2, 4), 1),
    "width": Int(1, 512, 32), "unshuffle": Choice((1, 2, 4), 1), "dilations": IntList(Int(1, 16), 16),
    "noise_hint": Choice((False, True), False),
    "feed_base": Choice((False, True), False),  # inpaint: the trunk also sees the smooth fill
}
SPECS["gan.restore"] = {**_RESTORE_COMMON, "blocks": Int(0, 64, 6)}
SPECS["vae.restore"] = {**_RESTORE_COMMON, "blocks": Int(0, 64, 4), "dec_blocks": Int(0, 64, 2), "latent": Int(1, 256, 8)}
SPECS["rnn.restore"] = {**_RESTORE_COMMON, "blocks": Int(0, 64, 3), "steps": Int(1, 64, 4)}

ARCH_FAMILY = {arch: arch.split(".", 1)[0] for arch in SPECS}


def check_params(meta: dict[str, Any]) -> dict[str, Any]:
    """The clean ``arch_params`` of a model's (already type-checked) metadata; ModelError if unsafe."""
    arch = meta["arch"]
    spec = SPECS.get(arch)
    if spec is None:
        raise ModelError(f"unknown architecture {arch!r} (made by a newer Imgen Desktop?)")
    if ARCH_FAMILY[arch] != meta["family"]:
        raise ModelError(f"the architecture {arch!r} is not a {str(meta['family']).upper()} architecture")
    generate = not arch.endswith(".restore")
    if generate != (meta["task"] == "generate"):
        raise ModelError(f"the architecture {arch!r} cannot do the task {meta['task']!r}")
    raw = meta.get("arch_params", {})
    if not isinstance(raw, dict):
        raise ModelError(f"architecture parameters must be an object, not {_show(raw)}")
    if not generate:  # enhancement nets: task, scale and channels default to the file's own
        raw = {"task": meta["task"], "scale": meta.get("scale", 1), "channels": meta.get("channels", 3), **raw}
    clean: dict[str, Any] = {}
    for key, rule in spec.items():
        value = raw.get(key, rule.default)
        if value is None:
            raise ModelError(f"architecture parameter {key} is missing")
        try:
            clean[key] = rule.check(key, value)
        except ModelError as exc:
            raise ModelError(f"invalid architecture parameter: {exc}") from None
    if not generate:
        if clean["task"] != meta["task"]:
            raise ModelError(f"the file says task {meta['task']!r} but its network is for {clean['task']!r}")
        if (clean["scale"] != 1) != (clean["task"] == "upscale"):
            raise ModelError(f"scale {clean['scale']} does not fit the task {clean['task']!r}")
        if clean["scale"] != meta.get("scale", clean["scale"]):
            raise ModelError(f"the file says scale {meta.get('scale')} but its network upscales x{clean['scale']}")
    if "channels" in meta and clean.get("channels", meta["channels"]) != meta["channels"]:
        raise ModelError(f"the file says {meta['channels']} channels but its network has {clean['channels']}")
    return clean
