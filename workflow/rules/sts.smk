# Rules of the sts stage: STS ingestion (SentEval layout) and its download, sharded six-voice
# synthesis into the TTS cache (results/tts_cache, not a declared output, so a killed shard keeps
# its finished WAVs), per-voice manifests, and the natural-speech sample. Work is in vgs.sts.

import re

from vgs.sts.download import download_text_forms

TTS_SHARDS = int(config["tts"]["shards"])
STS_DOWNLOAD_ROOTS = [
    spec["root"] for spec in config["sts"]["sets"].values() if spec.get("download")
]
STS_DOWNLOAD_TEXT = download_text_forms(config["sts"]["sets"])


wildcard_constraints:
    sts_root="|".join(re.escape(root) for root in STS_DOWNLOAD_ROOTS) or "(?!)",


rule sts_download:
    output:
        complete=layout.STS_DOWNLOAD_DONE,
    log:
        layout.log("sts_download", "{sts_root}"),
    benchmark:
        layout.benchmark("sts_download", "{sts_root}")
    conda:
        "../../envs/tts.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=30,
    params:
        root=lambda wildcards: wildcards.sts_root,
        text=lambda wildcards: STS_DOWNLOAD_TEXT[wildcards.sts_root],
    script:
        "../scripts/sts_download.py"


rule sts_ingest:
    input:
        lambda w: PLAN.sts_source(w.sts_set),
    output:
        pairs=layout.STS_PAIRS,
        sentences=layout.STS_SENTENCES,
        changes=layout.STS_NORMALISATION,
    log:
        layout.log("sts_ingest", "{sts_set}"),
    benchmark:
        layout.benchmark("sts_ingest", "{sts_set}")
    conda:
        "../../envs/tts.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        root=lambda w: config["sts"]["sets"][w.sts_set]["root"],
        # The <year>/<subtask> labels the collection is restricted to, or None for all.
        subtasks=lambda w: config["sts"]["sets"][w.sts_set].get("subtasks"),
    script:
        "../scripts/sts_ingest.py"


rule sts_synthesize:
    input:
        sentences=layout.STS_SENTENCES,
    output:
        layout.VOICE_SHARD,
    log:
        layout.log("sts_synthesize", "{sts_set}/{voice}/shard{shard}"),
    benchmark:
        layout.benchmark("sts_synthesize", "{sts_set}/{voice}/shard{shard}")
    conda:
        "../../envs/tts.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=config["tts"]["shard_runtime"],
    params:
        tts=config["tts"],
        cache=layout.TTS_CACHE,
    script:
        "../scripts/sts_synthesize.py"


rule sts_voice_manifest:
    input:
        pairs=layout.STS_PAIRS,
        sentences=layout.STS_SENTENCES,
        shards=expand(layout.VOICE_SHARD, shard=range(TTS_SHARDS), allow_missing=True),
    output:
        layout.VOICE_MANIFEST,
    log:
        layout.log("sts_voice_manifest", "{sts_set}/{voice}"),
    benchmark:
        layout.benchmark("sts_voice_manifest", "{sts_set}/{voice}")
    conda:
        "../../envs/tts.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/sts_voice_manifest.py"


rule sts_natural_sample:
    input:
        pairs=layout.STS_PAIRS,
        sentences=layout.STS_SENTENCES,
        recordings=PLAN.natural_recordings(),
    output:
        sample=layout.NATURAL_SAMPLE,
        script=layout.NATURAL_SCRIPT,
    log:
        layout.log("sts_natural_sample", "{sts_set}"),
    benchmark:
        layout.benchmark("sts_natural_sample", "{sts_set}")
    conda:
        "../../envs/tts.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        natural=config["sts"]["natural"],
    script:
        "../scripts/sts_natural_sample.py"


rule sts_natural:
    input:
        pairs=layout.STS_PAIRS,
        sentences=layout.STS_SENTENCES,
        sample=layout.NATURAL_SAMPLE,
        recordings=PLAN.natural_recordings(),
    output:
        layout.NATURAL_MANIFEST,
    log:
        layout.log("sts_natural", "{sts_set}"),
    benchmark:
        layout.benchmark("sts_natural", "{sts_set}")
    conda:
        "../../envs/tts.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=config["tts"]["shard_runtime"],
    params:
        natural=config["sts"]["natural"],
        tts=config["tts"],
        cache=layout.TTS_CACHE,
        wav_root=lambda w: layout.fill(layout.NATURAL_WAVS, sts_set=w.sts_set),
    script:
        "../scripts/sts_natural.py"
