"""Image feature caches with each backbone, the offline EfficientNet-Lite0 weights, and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image, ImageDraw
from torchvision import transforms
from torchvision.models import ResNet152_Weights, resnet152

from conftest import skip_or_fail_in_ci
from vgs.features.backbones import MissingWeightsError, build_backbone, resnet152_weights_path
from vgs.features.efficientnet_lite import INPUT_MEAN, INPUT_STD, pretrained_efficientnet_lite0
from vgs.features.images import ImageError, crop_transform, extract_image_store
from vgs.io import write_tsv
from vgs.store import ArrayStore

PHOTO = Path(__import__("matplotlib").get_data_path()) / "sample_data" / "grace_hopper.jpg"


def draw_images(directory: Path, count: int) -> list[Path]:
    """Distinct Pillow scenes: coloured background with a shape at different places and sizes."""
    paths = []
    for n in range(count):
        image = Image.new("RGB", (120 + 10 * n, 100), (30 * n % 255, 120, 200 - 20 * n))
        draw = ImageDraw.Draw(image)
        draw.ellipse([10 + 12 * n, 20, 60 + 12 * n, 80], fill=(250, 200 - 30 * n, 20))
        draw.rectangle([70, 10 + 5 * n, 110, 40 + 5 * n], fill=(20, 20 + 40 * n, 90))
        path = directory / f"img{n}.png"
        image.save(path)
        paths.append(path)
    return paths


def image_manifest(tmp_path: Path, count: int) -> Path:
    paths = draw_images(tmp_path, count)
    rows = [
        {"utt_id": f"u{n}_{c}", "image_id": f"img{n}", "image_path": str(path), "split": "train"}
        for n, path in enumerate(paths)
        for c in range(2)
    ]  # several captions per image
    write_tsv(tmp_path / "manifest.tsv", pd.DataFrame(rows))
    return tmp_path / "manifest.tsv"


def test_efficientnet_lite0_weights_fit_the_architecture() -> None:
    """On a real photo the stem's activations match the batch-norm statistics stored with the weights
    (true only with the right input scaling), and the classifier recognises what is in the photo."""
    if not PHOTO.is_file():
        skip_or_fail_in_ci(f"matplotlib's sample photo {PHOTO} is not installed")
    model = pretrained_efficientnet_lite0()
    prepare = transforms.Compose(
        [
            transforms.Resize(256),
            transforms.CenterCrop(224),
            transforms.ToTensor(),
            transforms.Normalize(INPUT_MEAN, INPUT_STD),
        ]
    )
    photo = prepare(Image.open(PHOTO).convert("RGB"))[None]
    with torch.inference_mode():
        stem = model._conv_stem(photo)
        ratio = (stem.var(dim=(0, 2, 3)) / model._bn0.running_var).median().item()
        top5 = model.classify(photo).topk(5).indices[0].tolist()
    assert 0.5 < ratio < 2.0
    assert 652 in top5  # ImageNet class 652: military uniform (Grace Hopper in uniform)


def test_efficientnet_store(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    manifest = image_manifest(tmp_path, 3)
    out = tmp_path / "features.h5"
    with caplog.at_level("INFO", logger="vgs.features.images"):
        assert extract_image_store(manifest, out, "efficientnet_lite0", crops="centre", batch_size=2, device="cpu") == 3
    # Progress lines (vgs.progress): after the first batch and at the end.
    progress = [message.split(",")[0] for message in caplog.messages if " img (" in message]
    assert progress == ["efficientnet_lite0 features: 2/3 img (66.7%)", "efficientnet_lite0 features: 3/3 img (100.0%)"]
    store = ArrayStore(out)
    assert sorted(store) == ["img0", "img1", "img2"] and store.kind == "image" and store.dim == 1280
    assert store.metadata["backbone"] == "efficientnet_lite0" and store.metadata["crops"] == "centre"
    assert store.metadata["pretrained"] == "imagenet"
    features = store.matrix(["img0", "img1", "img2"])
    assert np.isfinite(features).all() and (features >= 0).all()  # ReLU6 then average pooling
    assert np.abs(features[0] - features[1]).max() > 1e-2  # different images, different features


@pytest.mark.slow
def test_ten_crops_average_the_crops(tmp_path: Path) -> None:
    """The ten-crop feature is the mean of the ten crops' features, mirror images included."""
    manifest = image_manifest(tmp_path, 1)
    extract_image_store(manifest, tmp_path / "ten.h5", "efficientnet_lite0", crops="ten", device="cpu")
    backbone = build_backbone("efficientnet_lite0")
    # The authors' resize, by PIL itself: shorter side (100) to 256 with Lanczos, 120 -> int(256 * 1.2).
    image = Image.open(tmp_path / "img0.png").convert("RGB").resize((307, 256), Image.Resampling.LANCZOS)
    crops = transforms.TenCrop(224)(image)
    batch = torch.stack([transforms.Normalize(backbone.mean, backbone.std)(transforms.ToTensor()(c)) for c in crops])
    with torch.inference_mode():
        expected = backbone.network(batch).mean(0).numpy()
    store = ArrayStore(tmp_path / "ten.h5")
    assert store.metadata["crops"] == "ten"
    np.testing.assert_allclose(store["img0"][0], expected, rtol=1e-4, atol=1e-5)


def test_resize_is_pils_lanczos_on_a_photograph() -> None:
    """The authors resize with PIL's Lanczos (ANTIALIAS); torchvision's default bilinear differs."""
    backbone = build_backbone("efficientnet_lite0")
    photo = Image.open(PHOTO).convert("RGB")
    width, height = photo.size
    resized = photo.resize(
        (256 * width // height, 256) if width > height else (256, 256 * height // width), Image.Resampling.LANCZOS
    )
    to_tensor = transforms.Compose(
        [transforms.CenterCrop(224), transforms.ToTensor(), transforms.Normalize(backbone.mean, backbone.std)]
    )
    ours = crop_transform(backbone, "centre")(photo)[0]
    torch.testing.assert_close(ours, to_tensor(resized), rtol=0, atol=0)
    bilinear = transforms.Compose([transforms.Resize(256), to_tensor])(photo)
    assert (ours - bilinear).abs().max() > 0.05


@pytest.mark.slow
def test_random_resnet152_is_labelled(tmp_path: Path) -> None:
    manifest = image_manifest(tmp_path, 2)
    extract_image_store(manifest, tmp_path / "r.h5", "random_resnet152", crops="centre", seed=3, device="cpu")
    store = ArrayStore(tmp_path / "r.h5")
    assert store.dim == 2048 and store.metadata["pretrained"] == "none"
    assert "RANDOMLY INITIALISED" in store.metadata["warning"]
    seeded = build_backbone("random_resnet152", seed=3).network.conv1.weight
    assert torch.equal(seeded, build_backbone("random_resnet152", seed=3).network.conv1.weight)
    assert not torch.equal(seeded, build_backbone("random_resnet152", seed=4).network.conv1.weight)


@pytest.mark.slow
def test_resnet152_ten_crops_equal_torchvisions_own_model(tmp_path: Path) -> None:
    """The paper's image path (ResNet-152, ten crops averaged) with random weights, against
    torchvision computed here on its own: ``resnet152(weights=None)`` after the same seed, PIL's
    Lanczos resize of the shorter side to 256 (the authors'), ``TenCrop(224)``, the normalisation
    torchvision ships with the ImageNet weights, and the 2048-d output of the model's global average
    pool (read by a hook, the classifier left in place), averaged over the ten crops. Untrained, the
    deep network's features are large (~1e8, BatchNorm at its initial statistics) and much alike
    across crops, so the tolerance is relative to their size; the centre crop alone is still
    hundreds of tolerances from the mean (7e-3 of their size), so a path that dropped crops or
    averaged something else could not pass."""
    seed = 5
    manifest = image_manifest(tmp_path, 2)
    extract_image_store(manifest, tmp_path / "ten.h5", "random_resnet152", crops="ten", seed=seed, batch_size=2,
                        device="cpu")  # fmt: skip
    torch.manual_seed(seed)
    reference = resnet152(weights=None).eval()
    pooled: list[torch.Tensor] = []
    reference.avgpool.register_forward_hook(lambda _module, _inputs, output: pooled.append(output.flatten(1)))
    shipped = ResNet152_Weights.IMAGENET1K_V1.transforms()
    prepare = transforms.Compose([transforms.ToTensor(), transforms.Normalize(shipped.mean, shipped.std)])
    store = ArrayStore(tmp_path / "ten.h5")
    assert store.metadata["crops"] == "ten" and store.dim == 2048
    ours = store.matrix(["img0", "img1"])
    for n, path in enumerate(sorted(tmp_path.glob("img*.png"))):
        image = Image.open(path).convert("RGB")
        width, height = image.size  # landscape: the height becomes 256
        resized = image.resize((int(256 * width / height), 256), Image.Resampling.LANCZOS)
        crops = torch.stack([prepare(crop) for crop in transforms.TenCrop(224)(resized)])
        with torch.inference_mode():
            reference(crops)
        per_crop = pooled.pop()
        expected = per_crop.mean(0).numpy()
        scale = np.abs(expected).max()
        np.testing.assert_allclose(ours[n], expected, rtol=1e-5, atol=1e-5 * scale)
        centre = per_crop[4].numpy()  # TenCrop's order: four corners, centre, then their mirror images
        assert np.abs(centre - expected).max() > 1e-3 * scale  # 100x the tolerance (measured: 7e-3)
    assert np.abs(ours[0] - ours[1]).max() > 1e-3 * np.abs(ours).max()


def test_resnet152_without_cached_weights_says_which_file_to_put_where(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    expected = tmp_path / "torch" / "hub" / "checkpoints" / "resnet152-394f9c45.pth"
    assert resnet152_weights_path() == expected
    url = "download.pytorch.org/models/resnet152-394f9c45.pth"
    with pytest.raises(MissingWeightsError, match=rf"(?s){expected}.*{url}.*efficientnet_lite0"):
        build_backbone("resnet152")


@pytest.mark.slow
def test_unknown_encoder_is_an_error() -> None:
    with pytest.raises(ValueError, match="backbone must be one of"):
        build_backbone("resnet50")


def test_bad_images_named_and_no_store_left(tmp_path: Path) -> None:
    manifest = image_manifest(tmp_path, 3)
    (tmp_path / "img1.png").write_bytes(b"not an image")
    out = tmp_path / "out" / "features.h5"
    with pytest.raises(ImageError, match="img1.png: cannot decode image"):
        extract_image_store(manifest, out, "efficientnet_lite0", crops="centre", batch_size=1, device="cpu")
    assert list(out.parent.iterdir()) == []
    (tmp_path / "img2.png").unlink()
    with pytest.raises(FileNotFoundError, match="img2.png"):
        extract_image_store(manifest, out, "efficientnet_lite0", crops="centre", device="cpu")
