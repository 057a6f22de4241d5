"""On-the-fly degradations for self-supervised enhancement training (torch, batched).

Every function takes clean images in [0, 1], NCHW, and an optional ``torch.Generator`` so a
run is reproducible. The training recipes (``core.models.restore``) call :func:`degrade`;
benchmarks and tests use the single-purpose functions.

* upscale — optional slight Gaussian blur, then a bicubic / area / bilinear downscale by 2 or 4;
  or (``extra["degradation"] = "realistic"``, :func:`degrade_realistic`) a Real-ESRGAN-like mix
  of isotropic / anisotropic Gaussian blur, random downscale method, Gaussian or Poisson noise
  and JPEG compression at a random quality;
* denoise — Gaussian noise with a per-image sigma, or realistic camera noise
  (Poisson-Gaussian: signal-dependent shot noise + read noise, optionally correlated across
  the colour channels);
* inpaint — random free-form masks (brush strokes + rectangles), 1 = hole.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

DOWNSCALE_METHODS = ("bicubic", "area", "bilinear")
DEGRADATIONS = ("default", "realistic")  # extra["degradation"] for upscale training


def _rand(n: int, generator: torch.Generator | None, device) -> torch.Tensor:
    return torch.rand(n, generator=generator, device="cpu").to(device)


def gaussian_kernel(sigma: float, radius: int | None = None) -> torch.Tensor:
    radius = radius if radius is not None else max(1, int(math.ceil(3 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-(x**2) / (2 * sigma**2))
    return k / k.sum()


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur with reflect padding (sigma in pixels; <= 0 returns ``x``)."""
    if sigma <= 0:
        return x
    k = gaussian_kernel(sigma).to(x)
    r = k.numel() // 2
    c = x.shape[1]
    r = min(r, x.shape[-1] - 1, x.shape[-2] - 1)
    k = k[k.numel() // 2 - r : k.numel() // 2 + r + 1]
    k = k / k.sum()
    x = F.pad(x, (r, r, r, r), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def downscale(x: torch.Tensor, scale: int, method: str = "bicubic") -> torch.Tensor:
    """Downscale by an integer factor like PIL does (antialiased bicubic/bilinear, or area)."""
    h, w = x.shape[-2] // scale, x.shape[-1] // scale
    if method == "area":
        return F.interpolate(x, size=(h, w), mode="area")
    if method not in ("bicubic", "bilinear"):
        raise ValueError(f"unknown downscale method {method!r}")
    return F.interpolate(x, size=(h, w), mode=method, align_corners=False, antialias=True).clamp(0, 1)


def upscale_bicubic(x: torch.Tensor, scale: int) -> torch.Tensor:
    """The bicubic baseline / residual base of the upscale nets (not clamped)."""
    return F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)


def degrade_upscale(
    hr: torch.Tensor, scale: int, generator: torch.Generator | None = None,
    blur_prob: float = 0.25, max_blur: float = 0.8, methods=(("bicubic", 0.7), ("area", 0.15), ("bilinear", 0.15)),
) -> torch.Tensor:
    """Low-res inputs for clean high-res crops: per image a random method and a slight blur.

    Mostly plain bicubic (what users and the benchmarks see), with some variety so the model
    does not over-fit one resampling kernel. Output is quantised to 8 bits like a real file.
    """
    n = hr.shape[0]
    if hr.shape[-1] % scale or hr.shape[-2] % scale:
        hr = hr[..., : hr.shape[-2] // scale * scale, : hr.shape[-1] // scale * scale]
    u_method, u_blur, u_sigma = (_rand(n, generator, "cpu") for _ in range(3))
    names = [m for m, _ in methods]
    cum = torch.tensor([p for _, p in methods]).cumsum(0)
    cum = cum / cum[-1]
    out = []
    for i in range(n):
        img = hr[i : i + 1]
        if u_blur[i] < blur_prob:
            img = gaussian_blur(img, 0.2 + float(u_sigma[i]) * (max_blur - 0.2) * scale / 2)
        method = names[int((u_method[i] > cum).sum().clamp(max=len(names) - 1))]
        out.append(downscale(img, scale, method))
    lr = torch.cat(out).clamp(0, 1)
    return torch.round(lr * 255) / 255


def blur_kernel_2d(sigma_x: float, sigma_y: float, theta: float, size: int) -> torch.Tensor:
    """A normalised (size x size) Gaussian kernel with standard deviations ``sigma_x`` /
    ``sigma_y`` along axes rotated by ``theta`` (radians): isotropic when they are equal."""
    r = size // 2
    y, x = torch.meshgrid(torch.arange(-r, r + 1, dtype=torch.float64), torch.arange(-r, r + 1, dtype=torch.float64), indexing="ij")
    c, s = math.cos(theta), math.sin(theta)
    u, v = c * x + s * y, -s * x + c * y
    k = torch.exp(-0.5 * ((u / sigma_x) ** 2 + (v / sigma_y) ** 2))
    return (k / k.sum()).float()


def filter2d(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Convolve every channel of ``x`` (NCHW) with one 2-D kernel, reflect padding."""
    c = x.shape[1]
    r = min(kernel.shape[-1] // 2, x.shape[-1] - 1, x.shape[-2] - 1)
    mid = kernel.shape[-1] // 2
    kernel = kernel[mid - r : mid + r + 1, mid - r : mid + r + 1]
    kernel = (kernel / kernel.sum()).to(x)
    x = F.pad(x, (r, r, r, r), mode="reflect")
    return F.conv2d(x, kernel.view(1, 1, *kernel.shape).repeat(c, 1, 1, 1), groups=c)


def jpeg_compress(x: torch.Tensor, quality: int) -> torch.Tensor:
    """One image (1, C, H, W) in [0, 1] through a JPEG round trip at ``quality`` (PIL, in memory)."""
    import io

    from PIL import Image

    arr = (x[0].clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    gray = arr.shape[2] == 1
    buf = io.BytesIO()
    Image.fromarray(arr[..., 0] if gray else arr).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    out = Image.open(buf)
    out = out.convert("L" if gray else "RGB")
    t = torch.frombuffer(bytearray(out.tobytes()), dtype=torch.uint8).view(arr.shape).permute(2, 0, 1)
    return (t.float() / 255)[None].to(x)


REALISTIC_DEFAULTS: dict = {
    "plain_prob": 0.15,  # share of images with plain bicubic only (the benchmarks' input, clean photos)
    "blur_prob": 0.8, "aniso_prob": 0.5, "sigma_min": 0.2, "sigma_max_per_scale": 0.75,  # x4: sigma up to 3 px
    "noise_prob": 0.6, "poisson_prob": 0.4, "gray_noise_prob": 0.4,
    "noise_sigma": (1.0, 20.0),  # Gaussian, 0..255 scale (Real-ESRGAN: 1..30)
    "poisson_scale": (0.05, 2.0),  # Real-ESRGAN: 0.05..3
    "jpeg_prob": 0.8, "jpeg_quality": (35, 95),  # Real-ESRGAN: 30..95
    "second_order_prob": 0.0,  # a second, milder blur / noise / JPEG pass at low resolution
    "methods": (("bicubic", 0.4), ("area", 0.3), ("bilinear", 0.3)),
}


def _realistic_options(options: dict | None) -> dict:
    opts = dict(REALISTIC_DEFAULTS)
    unknown = set(options or {}) - set(opts)
    if unknown:
        raise ValueError(f"unknown realistic degradation option(s) {', '.join(sorted(unknown))}; known: {', '.join(opts)}")
    opts.update(options or {})
    return opts


def _noise_and_jpeg(img: torch.Tensor, o: dict, u, g: torch.Generator | None, mild: float = 1.0) -> torch.Tensor:
    if u() < o["noise_prob"]:
        gray = u() < o["gray_noise_prob"]
        if u() < o["poisson_prob"]:
            lo, hi = o["poisson_scale"]
            amount = (lo + (hi - lo) * u()) * mild
            src = img.mean(dim=1, keepdim=True) if gray else img
            vals = 255.0  # 8-bit photos: the Poisson rate of one grey level per count
            noisy = torch.poisson(src.clamp(0, 1) * vals, generator=g) / vals
            img = img + (noisy - src) * amount
        else:
            lo, hi = o["noise_sigma"]
            sigma = (lo + (hi - lo) * u()) * mild / 255.0
            shape = (1, 1, *img.shape[-2:]) if gray else img.shape
            img = img + torch.randn(shape, generator=g) * sigma
        img = img.clamp(0, 1)
    if u() < o["jpeg_prob"]:
        lo, hi = o["jpeg_quality"]
        img = jpeg_compress(img, int(round(lo + (hi - lo) * u())))
    return img


def degrade_realistic(hr: torch.Tensor, scale: int, generator: torch.Generator | None = None, **options) -> torch.Tensor:
    """Low-res inputs with a Real-ESRGAN-like mix of real-photo degradations, per image:

    1. blur (``blur_prob``) with an isotropic or (``aniso_prob``) anisotropic, rotated Gaussian
       kernel, sigma in ``sigma_min`` .. ``sigma_max_per_scale * scale`` px at high resolution;
    2. downscale by ``scale`` with a random method (bicubic / area / bilinear);
    3. noise (``noise_prob``): Gaussian (sigma in ``noise_sigma``, 0..255) or (``poisson_prob``)
       Poisson shot noise scaled by ``poisson_scale``; colour or (``gray_noise_prob``) grey;
    4. JPEG compression (``jpeg_prob``) at a quality in ``jpeg_quality``, through PIL in memory;
    5. optionally (``second_order_prob``) a second, milder blur + noise + JPEG at low resolution.

    A ``plain_prob`` share gets plain bicubic only. Every random choice comes from
    ``generator`` (reproducible, CPU). ``hr`` in [0, 1], NCHW; output quantised to 8 bits.
    Options: :data:`REALISTIC_DEFAULTS` (unknown names are refused).
    """
    o = _realistic_options(options)
    g = generator
    dev = hr.device
    hr = hr[..., : hr.shape[-2] // scale * scale, : hr.shape[-1] // scale * scale].detach().float().cpu()
    u = lambda: float(torch.rand(1, generator=g))  # noqa: E731
    names = [m for m, _ in o["methods"]]
    weights = torch.tensor([float(p) for _, p in o["methods"]])
    cum = (weights.cumsum(0) / weights.sum()).tolist()
    sigma_max = max(o["sigma_min"], o["sigma_max_per_scale"] * scale)
    size = min(21, 2 * int(math.ceil(3 * sigma_max)) + 1)
    out = []
    for i in range(hr.shape[0]):
        img = hr[i : i + 1]
        if u() < o["plain_prob"]:
            out.append(downscale(img, scale, "bicubic"))
            continue
        if u() < o["blur_prob"]:
            sx = o["sigma_min"] + (sigma_max - o["sigma_min"]) * u()
            sy = o["sigma_min"] + (sigma_max - o["sigma_min"]) * u() if u() < o["aniso_prob"] else sx
            img = filter2d(img, blur_kernel_2d(sx, sy, math.pi * u(), size))
        pick = u()
        method = names[min(sum(pick > c for c in cum), len(names) - 1)]
        img = downscale(img, scale, method).clamp(0, 1)
        img = _noise_and_jpeg(img, o, u, g)
        if u() < o["second_order_prob"]:
            s2 = 0.2 + 0.8 * u()
            img = filter2d(img, blur_kernel_2d(s2, s2, 0.0, 5))
            img = _noise_and_jpeg(img, o, u, g, mild=0.5)
        out.append(img)
    lr = torch.cat(out).clamp(0, 1)
    return (torch.round(lr * 255) / 255).to(dev)


def gaussian_noise(clean: torch.Tensor, sigma: float | torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """``clean`` + N(0, sigma^2) with ``sigma`` on the 0..255 scale (scalar or per image), not clipped."""
    sigma_t = torch.as_tensor(sigma, dtype=clean.dtype, device=clean.device).reshape(-1, 1, 1, 1) / 255.0
    noise = torch.randn(clean.shape, generator=generator, device="cpu").to(clean)
    return clean + noise * sigma_t


def camera_noise(
    clean: torch.Tensor, generator: torch.Generator | None = None, max_read_sigma: float = 25.0,
    shot_range: tuple[float, float] = (1e-4, 2e-2), correlated: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Poisson-Gaussian camera noise: variance ``a * signal + b`` per pixel.

    ``a`` (shot noise gain) is log-uniform in ``shot_range``; ``sqrt(b)`` (read noise) is uniform
    up to ``max_read_sigma`` / 255. With ``correlated`` the colour channels share part of their
    noise (a random 0..0.6 fraction), like after demosaicing. Returns ``(noisy, sigma)`` with
    ``sigma`` the per-image standard deviation of the added noise on the 0..255 scale.
    """
    n, c = clean.shape[:2]
    lo, hi = math.log(shot_range[0]), math.log(shot_range[1])
    a = torch.exp(lo + (hi - lo) * _rand(n, generator, clean.device)).view(-1, 1, 1, 1).to(clean)
    b = ((max_read_sigma / 255.0) * _rand(n, generator, clean.device)).view(-1, 1, 1, 1).to(clean) ** 2
    std = torch.sqrt(a * clean.clamp(0, 1) + b)
    eps = torch.randn(clean.shape, generator=generator, device="cpu").to(clean)
    if correlated and c > 1:
        rho = (0.6 * _rand(n, generator, clean.device)).view(-1, 1, 1, 1).to(clean)
        shared = torch.randn((n, 1, *clean.shape[2:]), generator=generator, device="cpu").to(clean)
        eps = torch.sqrt(1 - rho) * eps + torch.sqrt(rho) * shared
    noise = std * eps
    sigma = noise.flatten(1).std(dim=1) * 255.0
    return clean + noise, sigma


def add_noise(
    clean: torch.Tensor, max_sigma: float, camera: bool = False, generator: torch.Generator | None = None,
    camera_prob: float = 0.3,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Training noise: per image Gaussian with sigma ~ U(0, max_sigma), or (with ``camera``)
    camera noise for a ``camera_prob`` share of the batch. Returns ``(noisy, sigma 0..255)``.

    The noisy image is clipped to [0, 1] and quantised to 8 bits, as a saved photo would be.
    """
    n = clean.shape[0]
    sigma = max_sigma * _rand(n, generator, clean.device).to(clean)
    noisy = gaussian_noise(clean, sigma, generator)
    if camera and n:
        pick = _rand(n, generator, clean.device) < camera_prob
        if bool(pick.any()):
            cam, cam_sigma = camera_noise(clean[pick], generator, max_read_sigma=max_sigma / 2)
            noisy[pick] = cam
            sigma = sigma.clone()
            sigma[pick] = cam_sigma.to(sigma)
    noisy = torch.round(noisy.clamp(0, 1) * 255) / 255
    return noisy, sigma


def dark_channels(clean: torch.Tensor, prob: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Saturated colours for denoise training: a ``prob`` share of the images get each colour
    channel, with probability 1/2, scaled towards 0 (gain 0.02-0.3) or, with probability 1/4,
    towards 1. A photo of green leaves has a red channel near 0 over most of its area, where
    noise clipped at 0 biases the noisy input upwards; crops of natural photos rarely show the net
    that, and the built-in left a +2 level red cast on such a photo (benchmarks/RESULTS.md)."""
    n, c = clean.shape[:2]
    if c < 3 or n == 0:
        return clean
    pick = (_rand(n, generator, "cpu") < prob).view(n, 1)
    u = torch.rand((n, c), generator=generator)
    gain = (0.02 + 0.28 * torch.rand((n, c), generator=generator)).to(clean).view(n, c, 1, 1)
    down = (pick & (u < 0.5)).to(clean.device).view(n, c, 1, 1)
    up = (pick & (u >= 0.5) & (u < 0.75)).to(clean.device).view(n, c, 1, 1)
    out = torch.where(down, clean * gain, clean)
    return torch.where(up, 1 - (1 - clean) * gain, out)


def estimate_noise_sigma(x: torch.Tensor) -> torch.Tensor:
    """Per-image noise sigma (0..255 scale) by Donoho's robust estimator on the finest Haar
    diagonal band: ``median(|HH|) / 0.6745``, averaged over channels. ``x``: [0, 1], NCHW.

    Clipping hides noise: in blown highlights and crushed shadows a saved photo's noise was cut
    off at 0 or 255, which read a sigma-25 photo with bright petals as 21.5, so the denoiser
    under-denoised it. So the median skips 2x2 blocks with a clipped pixel, and then, with that
    first estimate s, blocks whose mean lies within 2 s of black or white (where the noise was
    partly cut off); the same photo now reads 25.5. Where too few blocks remain (under 64 of a
    channel), the previous estimate stands."""
    h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
    x = x[..., :h, :w].float()
    a, b, c, d = x[..., 0::2, 0::2], x[..., 0::2, 1::2], x[..., 1::2, 0::2], x[..., 1::2, 1::2]
    hh = ((a - b - c + d) / 2).abs().flatten(2)  # (N, C, blocks)
    corners = torch.stack([a, b, c, d]).flatten(3)
    mean = corners.mean(dim=0)

    def median_where(keep: torch.Tensor, fallback: torch.Tensor) -> torch.Tensor:
        med = torch.where(keep, hh, torch.full_like(hh, float("nan"))).nanmedian(dim=2).values
        return torch.where(keep.sum(dim=2) >= 64, med, fallback)

    med = hh.median(dim=2).values  # (N, C)
    med = median_where((corners > 0.5 / 255).logical_and(corners < 254.5 / 255).all(dim=0), med)
    margin = (2.0 * med / 0.6745).mean(dim=1).view(-1, 1, 1)  # 2 s, per image, on the 0..1 scale
    med = median_where((mean > margin).logical_and(mean < 1 - margin), med)
    return (med / 0.6745).mean(dim=1) * 255.0


def _segment_distance(py, px, y0, x0, y1, x1):
    dy, dx = y1 - y0, x1 - x0
    denom = dy * dy + dx * dx + 1e-6
    t = (((py - y0) * dy + (px - x0) * dx) / denom).clamp(0, 1)
    return torch.sqrt((py - (y0 + t * dy)) ** 2 + (px - (x0 + t * dx)) ** 2)


def random_masks(
    n: int, height: int, width: int, generator: torch.Generator | None = None,
    max_strokes: int = 3, max_rects: int = 2, min_cover: float = 0.03, max_cover: float = 0.45,
    radius: tuple[float, float] = (0.03, 0.12), rect: tuple[float, float] = (0.1, 0.4),
) -> torch.Tensor:
    """Free-form hole masks (N, 1, H, W), 1 = hole: brush strokes (random walks with a round
    brush of ``radius`` = (smallest, largest) x the shorter side) and axis-aligned rectangles
    (sides ``rect`` x the shorter side), re-drawn until the hole covers ``min_cover``..``max_cover``."""
    g = generator
    py = torch.arange(height, dtype=torch.float32).view(-1, 1)
    px = torch.arange(width, dtype=torch.float32).view(1, -1)
    size = float(min(height, width))
    masks = torch.zeros(n, 1, height, width)
    for i in range(n):
        for _attempt in range(8):
            m = torch.zeros(height, width, dtype=torch.bool)
            u = lambda: float(torch.rand(1, generator=g))  # noqa: E731
            strokes = int(u() * (max_strokes + 1))
            rects = int(u() * (max_rects + 1))
            if strokes + rects == 0:
                strokes = 1
            for _ in range(strokes):
                y, x = u() * height, u() * width
                r_brush = size * (radius[0] + (radius[1] - radius[0]) * u())
                angle = u() * 2 * math.pi
                for _v in range(1 + int(u() * 5)):
                    angle += (u() - 0.5) * 2.0
                    length = size * (0.1 + 0.3 * u())
                    y1 = min(max(y + length * math.sin(angle), 0.0), height - 1.0)
                    x1 = min(max(x + length * math.cos(angle), 0.0), width - 1.0)
                    m |= _segment_distance(py, px, y, x, y1, x1) <= r_brush
                    y, x = y1, x1
            for _ in range(rects):
                rh, rw = (int(size * (rect[0] + (rect[1] - rect[0]) * u())) for _s in range(2))
                y0, x0 = int(u() * max(1, height - rh)), int(u() * max(1, width - rw))
                m[y0 : y0 + rh, x0 : x0 + rw] = True
            cover = float(m.float().mean())
            if min_cover <= cover <= max_cover:
                break
        masks[i, 0] = m.float()
    return masks


MASK_OPTIONS = {"max_strokes", "max_rects", "min_cover", "max_cover", "radius", "rect"}
GRAY_SHARE = 0.2  # denoise training: share of crops turned to (replicated) grayscale
FILL_SIGMAS = (1.5, 4.0, 12.0)
FILL_RADIUS = int(3 * FILL_SIGMAS[-1]) + 1


def _blur_zero(x: torch.Tensor, sigma: float) -> torch.Tensor:
    k = gaussian_kernel(sigma).to(x)
    r, c = k.numel() // 2, int(x.shape[1])  # int(): a constant when traced (ONNX export)
    x = F.conv2d(x, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), padding=(0, r), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), padding=(r, 0), groups=c)


def normalized_fill(image: torch.Tensor, mask: torch.Tensor, sigmas=FILL_SIGMAS) -> torch.Tensor:
    """Fill holes (mask 1) smoothly from the known pixels: multi-scale normalised convolution
    (coarse to fine), a cheap diffusion-like fill. Known pixels are returned unchanged."""
    known = 1 - mask
    filled = None
    for sigma in reversed(sigmas):
        num = _blur_zero(image * known, sigma)
        den = _blur_zero(known, sigma)
        est = num / den.clamp(min=1e-6)
        if filled is None:
            filled = torch.where(den > 1e-6, est, torch.full_like(est, 0.5))
        else:
            w = (den / 0.3).clamp(0, 1)
            filled = w * est + (1 - w) * filled
    return image * known + filled * mask


def apply_mask(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The inpaint net's input: the image with holes zeroed, plus the mask as a last channel."""
    return torch.cat([image * (1 - mask), mask], dim=1)


def random_dihedral(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each square image of the batch under a random one of the 8 flips / rotations (with the
    data's random horizontal flip: the 8-fold augmentation of the restoration literature)."""
    n = x.shape[0]
    vflip = (_rand(n, generator, "cpu") < 0.5).to(x.device).view(-1, 1, 1, 1)
    x = torch.where(vflip, x.flip(-2), x)
    swap = (_rand(n, generator, "cpu") < 0.5).to(x.device).view(-1, 1, 1, 1)
    return torch.where(swap, x.transpose(-1, -2), x)


def degrade(task: str, clean: torch.Tensor, config, generator: torch.Generator | None = None, plain: bool = False) -> dict:
    """Make one training pair from clean crops in [0, 1].

    ``plain``: upscale with plain bicubic only (for evaluation). Returns ``{"input": net input, "target": clean (cropped to fit), "sigma": per-image noise
    sigma (denoise), "mask": (inpaint)}``.
    """
    if task == "upscale":
        s = int(config.scale)
        h, w = clean.shape[-2] // s * s, clean.shape[-1] // s * s
        target = clean[..., :h, :w]
        if plain:
            return {"input": torch.round(downscale(target, s, "bicubic") * 255) / 255, "target": target}
        extra = getattr(config, "extra", None) or {}
        kind = str(extra.get("degradation", "default"))
        if kind not in DEGRADATIONS:
            raise ValueError(f"unknown degradation {kind!r}; choose one of {', '.join(DEGRADATIONS)}")
        if kind == "realistic":
            opts = dict(extra.get("degradation_options") or {})
            return {"input": degrade_realistic(target, s, generator, **opts), "target": target}
        methods = (("bicubic", 1.0),) if extra.get("bicubic_only") else (("bicubic", 0.7), ("area", 0.15), ("bilinear", 0.15))
        blur_prob = float(extra.get("blur_prob", 0.25))
        return {"input": degrade_upscale(target, s, generator, blur_prob=blur_prob, methods=methods), "target": target}
    if task == "denoise":
        # a share of grayscale photos (replicated to RGB, the same noise on every channel), so
        # that gray photos run through an RGB model are denoised as well as colour ones
        pick = torch.zeros(clean.shape[0], dtype=torch.bool)
        if clean.shape[1] == 3 and not plain:
            pick = _rand(clean.shape[0], generator, "cpu") < GRAY_SHARE
        if bool(pick.any()):
            lum = (0.299 * clean[:, :1] + 0.587 * clean[:, 1:2] + 0.114 * clean[:, 2:3]).expand_as(clean)
            clean = torch.where(pick.to(clean.device).view(-1, 1, 1, 1), lum, clean)
        extra = getattr(config, "extra", None) or {}
        if not plain and float(extra.get("dark_channels", 0.0)) > 0:
            # not the gray ones: their noise is copied from one channel to all three below
            tinted = dark_channels(clean, float(extra["dark_channels"]), generator)
            clean = torch.where(pick.to(clean.device).view(-1, 1, 1, 1), clean, tinted)
        noisy, sigma = add_noise(clean, float(config.noise_sigma), bool(config.camera_noise), generator)
        if bool(pick.any()):
            noisy = torch.where(pick.to(clean.device).view(-1, 1, 1, 1), noisy[:, :1].expand_as(noisy), noisy)
        return {"input": noisy, "target": clean, "sigma": sigma}
    if task == "inpaint":
        extra = getattr(config, "extra", None) or {}
        options = {k: (tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in dict(extra.get("masks") or {}).items()}
        if bad := sorted(set(options) - MASK_OPTIONS):
            raise ValueError(f"unknown mask option(s) {', '.join(bad)}; choose from {', '.join(sorted(MASK_OPTIONS))}")
        mask = random_masks(clean.shape[0], clean.shape[-2], clean.shape[-1], generator, **options).to(clean)
        return {"input": apply_mask(clean, mask), "target": clean, "mask": mask}
    raise ValueError(f"no degradation for task {task!r}")
