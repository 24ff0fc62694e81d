"""Encoding: utterance and image embedding tables from a trained checkpoint."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from vgs.identity import RunId, RunMismatch
from vgs.model import ModelConfig, VGSModel
from vgs.store import ArrayStore
from vgs.train.checkpoint import load_checkpoint, save_checkpoint
from vgs.train.embed import embed_images, embed_utterance_sets, embed_utterances
from vgs.train.synthetic import synthetic_corpus

RUN = RunId("m", 1)
CONFIG = ModelConfig(
    image_dim=16, conv_channels=8, conv_kernel=6, conv_stride=2, rnn_layers=1, rnn_hidden=8, attention_hidden=4
)


@pytest.fixture()
def trained(tmp_path):
    data = synthetic_corpus(tmp_path / "data", images={"train": 4, "dev": 2, "test": 5}, captions_per_image=2)
    torch.manual_seed(0)
    model = VGSModel(CONFIG).eval()
    save_checkpoint(
        tmp_path / "best.pt",
        {"model_config": CONFIG.as_dict(), "model": model.state_dict(), "epoch": 3, "model_name": "m", "seed": 1},
    )  # as the train rule writes model m, seed 1
    return data, model, tmp_path / "best.pt"


def test_embedding_the_test_split_matches_single_utterance_embeddings(trained, tmp_path):
    data, model, checkpoint = trained
    out = tmp_path / "emb" / "corpus.h5"
    count = embed_utterances(
        data["manifest"], [data["mfcc"]], checkpoint, out, split="test", batch_size=3, device="cpu", run=RUN
    )
    store = ArrayStore(out)
    manifest = pd.read_csv(data["manifest"], sep="\t")
    assert count == 10 and sorted(store) == sorted(manifest.loc[manifest["split"] == "test", "utt_id"])
    assert store.kind == "embedding" and store.dim == 16 and store.metadata["epoch"] == 3
    assert (store.metadata["model"], store.metadata["seed"]) == ("m", 1)  # what evaluation checks
    frames = ArrayStore(data["mfcc"])
    for utt in list(store)[:4]:
        array = torch.from_numpy(frames[utt])[None]
        with torch.no_grad():
            alone = model.caption_encoder(array, torch.tensor([array.shape[1]]))[0].numpy()
        np.testing.assert_allclose(store[utt][0], alone, atol=1e-5)
        assert np.linalg.norm(store[utt][0]) == pytest.approx(1.0, abs=1e-5)


def test_embedding_logs_progress_lines(trained, tmp_path, caplog):
    """One line after the first batch and one at the end (vgs.progress), counted in utterances."""
    data, _, checkpoint = trained
    with caplog.at_level("INFO", logger="vgs.train.embed"):
        embed_utterances(
            data["manifest"], [data["mfcc"]], checkpoint, tmp_path / "e.h5", split="test", batch_size=4, device="cpu",
            run=RUN,
        )  # fmt: skip
    progress = [message.split(",")[0] for message in caplog.messages if " utt (" in message]
    assert progress == [f"embed {data['manifest']}: 4/10 utt (40.0%)", f"embed {data['manifest']}: 10/10 utt (100.0%)"]


def test_test_split_encoding_reads_only_the_test_captions_rows(trained, tmp_path, preadv_bytes):
    """A test-split encoding must not load the corpus's cache (SpokenCOCO's is ~42 GB): the bytes it
    reads are exactly its own captions' frames, counted from the file's index with h5py."""
    data, _, checkpoint = trained
    manifest = pd.read_csv(data["manifest"], sep="\t")
    test_ids = set(manifest.loc[manifest["split"] == "test", "utt_id"])
    with h5py.File(data["mfcc"], "r") as handle:
        rows = {key.decode(): int(n) for key, n in zip(handle["ids"][:], handle["lengths"][:])}
    read = preadv_bytes
    embed_utterances(
        data["manifest"], [data["mfcc"]], checkpoint, tmp_path / "t.h5", split="test", device="cpu", run=RUN
    )
    assert len(read) == len(test_ids) < len(rows)
    assert sum(read) == sum(rows[utt] for utt in test_ids) * 39 * 4


def test_embedding_deduplicates_utterances(trained, tmp_path):
    data, _, checkpoint = trained
    manifest = pd.read_csv(data["manifest"], sep="\t")
    sts_like = pd.concat([manifest, manifest.head(3)])  # an STS manifest repeats shared sentences
    sts_like.to_csv(tmp_path / "sts.tsv", sep="\t", index=False)
    count = embed_utterances(
        tmp_path / "sts.tsv", [data["mfcc"]], checkpoint, tmp_path / "sts.h5", device="cpu", run=RUN
    )
    assert count == len(manifest) == len(ArrayStore(tmp_path / "sts.h5"))


def test_utterances_cut_at_max_frames_are_counted_in_the_log(trained, tmp_path, caplog):
    data, _, checkpoint = trained
    lengths = [len(ArrayStore(data["mfcc"])[utt]) for utt in pd.read_csv(data["manifest"], sep="\t")["utt_id"]]
    max_frames = sorted(lengths)[len(lengths) // 2]
    longer = sum(length > max_frames for length in lengths)
    assert 0 < longer < len(lengths)
    with caplog.at_level("INFO", logger="vgs.train.embed"):
        embed_utterances(
            data["manifest"],
            [data["mfcc"]],
            checkpoint,
            tmp_path / "cut.h5",
            max_frames=max_frames,
            device="cpu",
            run=RUN,
        )
    assert f"{longer} of {len(lengths)} utterances are longer than {max_frames} frames" in caplog.text


def test_several_sets_in_one_job_equal_one_job_each(trained, tmp_path):
    """embed_sts encodes an STS set's seven utterance sets with one model load: each store must be
    what encoding that set alone writes, in its own output (not the previous set's rows)."""
    data, _, checkpoint = trained
    manifest = pd.read_csv(data["manifest"], sep="\t")
    parts = {"a": manifest[manifest["split"] == "train"], "b": manifest[manifest["split"] == "test"]}
    sets = []
    for name, rows in parts.items():
        rows.to_csv(tmp_path / f"{name}.tsv", sep="\t", index=False)
        embed_utterances(
            tmp_path / f"{name}.tsv", [data["mfcc"]], checkpoint, tmp_path / f"alone-{name}.h5", device="cpu", run=RUN
        )
        sets.append((tmp_path / f"{name}.tsv", [data["mfcc"]], tmp_path / f"together-{name}.h5"))
    assert embed_utterance_sets(sets, checkpoint, device="cpu", run=RUN) == [len(parts["a"]), len(parts["b"])]
    for name in parts:
        alone, together = ArrayStore(tmp_path / f"alone-{name}.h5"), ArrayStore(tmp_path / f"together-{name}.h5")
        assert list(together) == list(alone) == list(dict.fromkeys(parts[name]["utt_id"]))
        for utt in alone:
            np.testing.assert_array_equal(together[utt], alone[utt])


def test_missing_mfcc_is_named(trained, tmp_path):
    data, _, checkpoint = trained
    manifest = pd.read_csv(data["manifest"], sep="\t")
    manifest.loc[len(manifest)] = {**manifest.iloc[0].to_dict(), "utt_id": "nowhere"}
    manifest.to_csv(tmp_path / "m.tsv", sep="\t", index=False)
    with pytest.raises(ValueError, match=r"mfcc\.h5.*1 utterance\(s\).*\(nowhere\); rerun the mfcc rule"):
        embed_utterances(tmp_path / "m.tsv", [data["mfcc"]], checkpoint, tmp_path / "x.h5", device="cpu", run=RUN)
    assert not (tmp_path / "x.h5").exists()


def test_a_manifest_whose_durations_disagree_with_the_store_is_refused(trained, tmp_path):
    """A voice manifest records each wav's duration; a store with more frames than that audio gives
    is a stale cache of other audio, named with the utterance and its counts (#19)."""
    data, _, checkpoint = trained
    manifest = pd.read_csv(data["manifest"], sep="\t")
    frames = ArrayStore([data["mfcc"]])
    manifest["duration"] = [frames.length(u) / 100 for u in manifest["utt_id"]]  # as the audio gives
    manifest.to_csv(tmp_path / "fits.tsv", sep="\t", index=False)
    embed_utterances(tmp_path / "fits.tsv", [data["mfcc"]], checkpoint, tmp_path / "ok.h5", device="cpu", run=RUN)
    stale = manifest["utt_id"].iloc[1]
    manifest.loc[manifest["utt_id"] == stale, "duration"] = 0.05  # the audio is now 5 frames long
    manifest.to_csv(tmp_path / "stale.tsv", sep="\t", index=False)
    with pytest.raises(
        ValueError,
        match=rf"1 utterance\(s\) of .*stale\.tsv.*{stale}: \d+ frames for 0\.05 s.*"
        r"delete it and rerun the mfcc rule",
    ):
        embed_utterances(tmp_path / "stale.tsv", [data["mfcc"]], checkpoint, tmp_path / "x.h5", device="cpu", run=RUN)
    assert not (tmp_path / "x.h5").exists()


def test_embed_images_projects_test_images(trained, tmp_path):
    data, model, checkpoint = trained
    count = embed_images(data["manifest"], data["images"], checkpoint, tmp_path / "images.h5", device="cpu", run=RUN)
    store = ArrayStore(tmp_path / "images.h5")
    assert count == 5 and sorted(store) == [f"test-img{i:03d}" for i in range(5)]
    features = ArrayStore(data["images"])
    with torch.no_grad():
        expected = model.image_encoder(torch.from_numpy(features["test-img002"]))[0].numpy()
    np.testing.assert_allclose(store["test-img002"][0], expected, atol=1e-6)


@pytest.mark.parametrize(("recorded", "held"), [
    ({"model_name": "other", "seed": 1}, "holds run other seed 1 but is read as run m seed 1"),
    ({"model_name": "m", "seed": 2}, "holds run m seed 2 but is read as run m seed 1"),
    ({"model_name": None, "seed": 1}, ("records no run .* expected m seed 1; delete it and rerun the workflow: the "
                                       "train rule rewrites best.pt")),
])  # fmt: skip
def test_a_checkpoint_of_another_run_is_refused(trained, tmp_path, recorded, held):
    """Encoding checks the checkpoint's recorded model and seed against its job's, for utterances and
    images alike; one of another run, or of none (written before runs were recorded), writes nothing."""
    data, _, checkpoint = trained
    payload = {key: value for key, value in {**load_checkpoint(checkpoint), **recorded}.items() if value is not None}
    save_checkpoint(checkpoint, payload)
    with pytest.raises(RunMismatch, match=f"best.pt: {held}"):
        embed_utterances(data["manifest"], [data["mfcc"]], checkpoint, tmp_path / "u.h5", device="cpu", run=RUN)
    with pytest.raises(RunMismatch, match=f"best.pt: {held}"):
        embed_images(data["manifest"], data["images"], checkpoint, tmp_path / "i.h5", device="cpu", run=RUN)
    assert not (tmp_path / "u.h5").exists() and not (tmp_path / "i.h5").exists()
