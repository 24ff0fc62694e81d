# Rules of the sts stage: STS ingestion (SentEval layout) and its download, sharded six-voice
# synthesis into the TTS cache (results/tts_cache, not a declared output, so a killed shard keeps
# its finished WAVs), per-voice manifests, and the natural-speech sample. Work is in vgs.sts.

import re

from vgs.sts.download import download_text_forms

STS = f"{RESULTS}/sts"
TTS_CACHE = f"{RESULTS}/tts_cache"
TTS_SHARDS = int(config["tts"]["shards"])
STS_DOWNLOAD_ROOTS = [
    spec["root"] for spec in config["sts"]["sets"].values() if spec.get("download")
]
STS_DOWNLOAD_TEXT = download_text_forms(config["sts"]["sets"])


wildcard_constraints:
    sts_root="|".join(re.escape(root) for root in STS_DOWNLOAD_ROOTS) or "(?!)",


rule sts_download:
    output:
        complete="{sts_root}/.complete",
    log:
        f"{LOGS}/sts/download/{{sts_root}}.log",
    benchmark:
        f"{BENCH}/sts/download/{{sts_root}}.tsv"
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
        sts_source,
    output:
        pairs=f"{STS}/{{sts_set}}/pairs.tsv",
        sentences=f"{STS}/{{sts_set}}/sentences.tsv",
        changes=f"{STS}/{{sts_set}}/normalisation_changes.tsv",
    log:
        f"{LOGS}/sts/{{sts_set}}/ingest.log",
    benchmark:
        f"{BENCH}/sts/{{sts_set}}/ingest.tsv"
    conda:
        "../../envs/tts.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        root=sts_root,
        subtasks=sts_subtasks,
    script:
        "../scripts/sts_ingest.py"


rule sts_synthesize:
    input:
        sentences=f"{STS}/{{sts_set}}/sentences.tsv",
    output:
        f"{STS}/{{sts_set}}/speech/{{voice}}/shard{{shard}}.tsv",
    log:
        f"{LOGS}/sts/{{sts_set}}/synthesize/{{voice}}/shard{{shard}}.log",
    benchmark:
        f"{BENCH}/sts/{{sts_set}}/synthesize/{{voice}}/shard{{shard}}.tsv"
    conda:
        "../../envs/tts.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=config["tts"]["shard_runtime"],
    params:
        tts=config["tts"],
        cache=TTS_CACHE,
    script:
        "../scripts/sts_synthesize.py"


rule sts_voice_manifest:
    input:
        pairs=f"{STS}/{{sts_set}}/pairs.tsv",
        sentences=f"{STS}/{{sts_set}}/sentences.tsv",
        shards=expand(
            f"{STS}/{{{{sts_set}}}}/speech/{{{{voice}}}}/shard{{shard}}.tsv",
            shard=range(TTS_SHARDS),
        ),
    output:
        f"{STS}/{{sts_set}}/speech/{{voice}}/manifest.tsv",
    log:
        f"{LOGS}/sts/{{sts_set}}/manifest/{{voice}}.log",
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
        pairs=f"{STS}/{{sts_set}}/pairs.tsv",
        sentences=f"{STS}/{{sts_set}}/sentences.tsv",
        recordings=natural_recordings,
    output:
        sample=f"{STS}/{{sts_set}}/natural/sample.tsv",
        script=f"{STS}/{{sts_set}}/natural/recording_script.tsv",
    log:
        f"{LOGS}/sts/{{sts_set}}/natural_sample.log",
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
        pairs=f"{STS}/{{sts_set}}/pairs.tsv",
        sentences=f"{STS}/{{sts_set}}/sentences.tsv",
        sample=f"{STS}/{{sts_set}}/natural/sample.tsv",
        recordings=natural_recordings,
    output:
        f"{STS}/{{sts_set}}/natural/manifest.tsv",
    log:
        f"{LOGS}/sts/{{sts_set}}/natural.log",
    benchmark:
        f"{BENCH}/sts/{{sts_set}}/natural.tsv"
    conda:
        "../../envs/tts.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=config["tts"]["shard_runtime"],
    params:
        natural=config["sts"]["natural"],
        tts=config["tts"],
        cache=TTS_CACHE,
        wav_root=lambda wildcards: f"{STS}/{wildcards.sts_set}/natural/wavs",
    script:
        "../scripts/sts_natural.py"
