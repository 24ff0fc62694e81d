"""The workflow's plan: which runs a configuration defines, what each reads and writes, and what
``snakemake`` builds by default.

Why plain Python: these decisions (which models exist, their seeds and training data, the STS sets
they are scored on, the study's and the ablation's cells, every path) used to live in
``common.smk`` where no test could reach them without Snakemake. Here a :class:`WorkflowPlan` is
built from a validated configuration in milliseconds, the rules only wire its answers into
``input:``/``params:``, and ``tests/test_workflow_plan.py`` checks it for every shipped
configuration. Paths come from :mod:`vgs.layout`, the same templates the rules use as outputs.

Evaluation reaches its files keyed by run: every run handed to a table, figure or comparison is a
record (:meth:`Run.record`) that carries its identity *and* the paths of its files, so a script
never pairs a run with a file by position; the readers then check that each file records the run
it is filed under (model and seed written into it when it was made).

Size: the plan holds one small record per run; the paper has 8 models x 3 seeds and the study 48
runs, so building it takes well under a millisecond per run and no data is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vgs import layout
from vgs.config import table_models, train_settings, trained_models
from vgs.evaluate.protocols import PROTOCOLS
from vgs.identity import SPEECH, SPEECH_MODEL, TEXT_TOPLINE, speech_model_system
from vgs.plan.ablation import AblationPlan
from vgs.plan.runs import PlanError, Run, files_of
from vgs.plan.study import StudyPlan
from vgs.speech_models.spec import RANDOM_TINY, speech_model_description, speech_model_layers

#: What an STS set of the configuration is spoken as: one utterance set per voice plus the sample.
NATURAL = "natural"
PAPER_COMPARISON_FILES = ("paper_comparison_claims.csv", "paper_comparison_numbers.csv", "paper_comparison.md")


class WorkflowPlan:
    """Everything a validated configuration defines, as plain values and paths."""

    def __init__(self, config: Mapping[str, Any]):
        self.config = config
        self.models = trained_models(config)
        self.table_models = table_models(config)
        self.speech_models: dict[str, Any] = dict(config["speech_models"])
        # Layers read per speech model, checked against each checkpoint's config.json while planning.
        self.speech_model_layers = {name: speech_model_layers(name, spec) for name, spec in self.speech_models.items()}
        self.evaluate = config["evaluate"]
        unknown = sorted(set(self.evaluate["sts_sets"]) - set(config["sts"].get("sets", {})))
        if unknown:
            raise PlanError(f"config error at evaluate.sts_sets: names {unknown}, which are not in sts.sets")
        self.ablation = AblationPlan(self.evaluate, self.models, self.seeds)
        self.study = StudyPlan(config, self.models, self.seeds)

    # --- Models and their training data -----------------------------------------------------------

    def seeds(self, model: str) -> list[int]:
        """The seeds ``model`` is trained with: its own list, else the top-level ``seeds``."""
        return self.models[model].get("seeds", self.config["seeds"])

    def corpus_of(self, model: str) -> str:
        """The corpus whose test set evaluates ``model`` (a subset model: its source corpus)."""
        return self.models[model]["corpus"]

    def train_manifest(self, model: str) -> str:
        """Manifest a model trains on: its corpus, or a subset of ``subset_total`` captions, k per image."""
        spec = self.models[model]
        if spec.get("subset_k"):
            return layout.fill(
                layout.SUBSET_MANIFEST, corpus=spec["corpus"], total=spec["subset_total"], k=spec["subset_k"]
            )
        return layout.fill(layout.CORPUS_MANIFEST, corpus=spec["corpus"])

    def train_inputs(self, model: str) -> dict[str, Any]:
        """Training manifest, the source corpus's MFCC shards and its image features."""
        corpus = self.corpus_of(model)
        return {
            "manifest": self.train_manifest(model),
            "mfcc": self.mfcc_files(f"corpus/{corpus}"),
            "images": layout.fill(layout.IMAGE_FEATURES, corpus=corpus),
        }

    def train_settings(self, model: str) -> dict[str, Any]:
        """The ``train:`` settings of ``model`` (shared section + the model's overrides)."""
        return train_settings(self.config, model)

    def subset_ranking(self, corpus: str, total: int, k: int | None = None) -> dict[str, Any]:
        """The ranking every subset of a corpus shares: the k values of ``subsets`` and ``study``
        drawing from it (the largest fixes the ranking) and their seed, so all its subsets nest; and
        the config keys that ask for the subset of ``total`` captions at ``k`` per image (named in
        the error when it cannot be drawn: ``total_key`` and ``k_key``)."""
        sections = [
            self.config[name]
            for name in ("subsets", "study")
            if self.config.get(name) and self.config[name]["source"] == corpus
        ]
        seeds = {section["seed"] for section in sections}
        if len(seeds) > 1:
            raise PlanError(
                f"subsets.seed and study.seed differ for corpus {corpus!r}; give them one value "
                "so that the study's subsets nest with the paper's"
            )
        subsets, study = self.config.get("subsets") or {}, self.config.get("study") or {}
        asking = [
            (total_key, k_key)
            for total_key, k_key, section, section_totals in (
                ("subsets.total", "subsets.k", subsets, [subsets.get("total")]),
                ("study.totals", "study.k", study, study.get("totals", [])),
            )
            if section.get("source") == corpus
            and int(total) in section_totals
            and (k is None or int(k) in section["k"])
        ] or [("subsets.total", "subsets.k")]  # a subset asked for by hand: the paper's keys
        return {
            "ks": sorted({value for section in sections for value in section["k"]}),
            "seed": seeds.pop() if seeds else 0,
            "total_key": " and ".join(total_key for total_key, _ in asking),
            "k_key": " and ".join(k_key for _, k_key in asking),
        }

    # --- Sources: what must exist before a stage can read its input --------------------------------

    def is_world_corpus(self, corpus: str) -> bool:
        return bool(self.config["corpora"][corpus].get("world"))

    def is_world_sts_set(self, sts_set: str) -> bool:
        return bool(self.config["sts"]["sets"][sts_set].get("world"))

    def corpus_source(self, corpus: str) -> list[str]:
        """The world's marker of a generated corpus; nothing for a real one (its loader names what is missing)."""
        world = self.config["corpora"][corpus].get("world")
        return [layout.fill(layout.WORLD_CORPUS_DONE, world_corpus=world)] if world else []

    def sts_source(self, sts_set: str) -> list[str]:
        """The world's STS marker or the download's, before an STS collection can be read."""
        spec = self.config["sts"]["sets"][sts_set]
        if spec.get("world"):
            return [layout.WORLD_STS_DONE]
        return [layout.fill(layout.STS_DOWNLOAD_DONE, sts_root=spec["root"])] if spec.get("download") else []

    def natural_recordings(self) -> list[str]:
        """The recordings the natural sample is imported from: the CSV, or the released SpokenSTS
        (its folder, local copy or CSV; nothing for a hub id, fetched when the job runs)."""
        natural = self.config["sts"]["natural"]
        if natural["source"] == "recordings":
            return [natural["recordings"]["mapping"]]
        if natural["source"] == "spokensts":
            spec = natural["spokensts"]
            found = spec.get("mapping") or spec.get("path")
            return [found] if found else []
        return []

    @property
    def natural_source(self) -> str:
        """How tables and captions name the natural-speech sample (synthetic unless human)."""
        return self.config["sts"].get("natural", {}).get("source", "synthetic")

    # --- The generated world ---------------------------------------------------------------------------

    @property
    def world(self) -> dict[str, Any]:
        return self.config.get("world") or {}

    def world_corpus_files(self) -> list[str]:
        """speech_jobs.tsv and the format's metadata files of every world corpus (world_generate's outputs)."""
        from vgs.world.formats import metadata_files  # the world package only when planning the world

        return [
            layout.fill(layout.WORLD_CORPUS_FILE, world_corpus=name, path=path)
            for name, spec in self.world.get("corpora", {}).items()
            for path in ("speech_jobs.tsv", *metadata_files(spec["format"]))
        ]

    def world_caption_count(self, world_corpus: str) -> int:
        """Number of captions (wavs) of one world corpus, to size world_speak's runtime."""
        spec = self.world["corpora"][world_corpus]
        return sum(spec["images"].values()) * spec["captions_per_image"]

    # --- Utterance sets and their features ---------------------------------------------------------------

    @property
    def voices(self) -> list[str]:
        return list(self.config["tts"]["voices"])

    @property
    def sts_uttset_names(self) -> list[str]:
        """Utterance sets of every STS collection: the voices plus the natural-speech sample."""
        return [*self.voices, NATURAL]

    def sts_uttsets(self, sts_set: str) -> list[str]:
        """Utterance sets of one STS collection, ``sts/<set>/<voice or natural>``."""
        return [f"sts/{sts_set}/{name}" for name in self.sts_uttset_names]

    @staticmethod
    def uttset_parts(uttset: str) -> tuple[str, ...]:
        """An utterance set's parts: ``("corpus", <c>)`` or ``("sts", <set>, <voice or natural>)``."""
        parts = tuple(uttset.split("/"))
        if (parts[0], len(parts)) in (("corpus", 2), ("sts", 3)) and all(parts):
            return parts
        raise PlanError(f"unknown utterance set {uttset!r}")

    @classmethod
    def uttset_manifest(cls, uttset: str) -> str:
        """Manifest of an utterance set: ``corpus/<c>``, ``sts/<set>/<voice>``, ``sts/<set>/natural``."""
        kind, *names = cls.uttset_parts(uttset)
        if kind == "corpus":
            return layout.fill(layout.CORPUS_MANIFEST, corpus=names[0])
        sts_set, name = names
        if name == NATURAL:
            return layout.fill(layout.NATURAL_MANIFEST, sts_set=sts_set)
        return layout.fill(layout.VOICE_MANIFEST, sts_set=sts_set, voice=name)

    def mfcc_shard_count(self, uttset: str) -> int:
        """Corpora are split into ``features.mfcc.shards`` MFCC jobs; STS sets are one job each."""
        return int(self.config["features"]["mfcc"].get("shards", 1)) if self.uttset_parts(uttset)[0] == "corpus" else 1

    def mfcc_files(self, uttset: str) -> list[str]:
        return [layout.fill(layout.MFCC_SHARD, uttset=uttset, shard=i) for i in range(self.mfcc_shard_count(uttset))]

    @staticmethod
    def embeddings(model: str, seed: int | str, uttset: str) -> str:
        """Embedding store of ``uttset`` (or ``images/<corpus>``) for one run."""
        return layout.fill(layout.EMBEDDINGS, model=model, seed=seed, uttset=uttset)

    # --- Evaluated systems ----------------------------------------------------------------------------------

    def speech_runs(self) -> list[Run]:
        """Every table model x seed (the study's models have their own tables)."""
        return [
            Run(model, SPEECH, spec["corpus"], spec.get("subset_k"), seed)
            for model, spec in self.table_models.items()
            for seed in self.seeds(model)
        ]

    def corpus_model_runs(self) -> list[Run]:
        """Runs of the models trained on whole corpora (Figure 1's and Table 2's, not the subsets)."""
        return [run for run in self.speech_runs() if run.subset_k is None]

    def speech_model_runs(self) -> list[Run]:
        """Every configured speech model x layer read, a system ``<name>-L<layer>`` without seed."""
        return [
            Run(
                speech_model_system(name, layer),
                SPEECH_MODEL,
                speech_model_description(spec),
                speech_model=name,
                layer=layer,
            )
            for name, spec in self.speech_models.items()
            for layer in self.speech_model_layers[name]
        ]

    def topline_runs(self) -> list[Run]:
        return [Run(name, TEXT_TOPLINE, "text") for name in self.evaluate["toplines"]]

    def sts_runs(self) -> list[Run]:
        """Every system scored on SpokenSTS: trained models, speech-model layers, text toplines."""
        return self.speech_runs() + self.speech_model_runs() + self.topline_runs()

    def sts_records(self, sts_set: str, runs: list[Run] | None = None) -> list[dict[str, Any]]:
        """Records of ``runs`` (default: every STS system) with their similarities and correlations."""
        return [
            run.record(**{name: run.sts_file(sts_set, name) for name in layout.STS_RESULTS})
            for run in (self.sts_runs() if runs is None else runs)
        ]

    def retrieval_records(self) -> list[dict[str, Any]]:
        """Records of every trained table run with its retrieval JSON and training log."""
        return [run.record(retrieval=run.retrieval_json, train_log=run.train_log) for run in self.speech_runs()]

    def speech_model_source(self, name: str) -> str:
        """Where speech model ``name`` is loaded from: its hub id or directory, or the random model's directory."""
        spec = self.speech_models[name]
        return (
            layout.fill(layout.RANDOM_SPEECH_MODEL, speech_model=name) if spec["kind"] == RANDOM_TINY else spec["model"]
        )

    def speech_model_description(self, name: str) -> str:
        """What speech model ``name`` is, for tables and captions (checkpoint or random architecture)."""
        return speech_model_description(self.speech_models[name])

    @staticmethod
    def speech_model_layer_store(speech_model: str, sts_set: str, layer: int | str, name: str) -> str:
        """The store of one layer and utterance set (a voice or ``natural``) inside the directory a
        speech model's STS-set job writes (``layout.SPEECH_MODEL_EMBEDDINGS``)."""
        directory = layout.fill(layout.SPEECH_MODEL_EMBEDDINGS, speech_model=speech_model, sts_set=sts_set)
        return f"{directory}/{layout.fill(layout.SPEECH_MODEL_LAYER_STORE, layer=layer, name=name)}"

    def speech_model_files(self, name: str) -> list[str]:
        """The random model's files to wait for; a checkpoint (hub id or directory) is read by the job."""
        return (
            [layout.fill(layout.RANDOM_SPEECH_MODEL_CONFIG, speech_model=name)]
            if self.speech_models[name]["kind"] == RANDOM_TINY
            else []
        )

    # --- Tables and figures --------------------------------------------------------------------------------

    @property
    def has_subset_models(self) -> bool:
        """Whether Table 3 and Figure 2 can be made (captions-per-image subset models are configured)."""
        return any(spec.get("subset_k") for spec in self.table_models.values())

    def sts_table_stems(self) -> list[str]:
        return ["sts_correlations", "table3_aic_all", *(["table3_aic"] if self.has_subset_models else [])]

    def sts_figure_stems(self) -> list[str]:
        return [
            "figure1",
            *(["figure2"] if self.has_subset_models else []),
            *(["speech_model_layers"] if self.speech_models else []),
            layout.PROTOCOL_FIGURE_STEM,
        ]

    @staticmethod
    def protocol_tables(sts_set: str) -> list[str]:
        """One table per SpokenSTS protocol (vgs.evaluate.protocols) of ``sts_set``, in every table format."""
        return [
            layout.fill(layout.PROTOCOL_TABLE, sts_set=sts_set, protocol=protocol, ext=ext)
            for protocol in PROTOCOLS
            for ext in layout.TABLE_FORMATS
        ]

    def paper_comparison_sets(self) -> list[str]:
        """STS sets set beside the paper's numbers: real STS sets, and only when no table model trains on a
        generated-world corpus (the world is another experiment; it gets no comparison with the paper)."""
        if any(self.is_world_corpus(spec["corpus"]) for spec in self.table_models.values()):
            return []
        return [s for s in self.evaluate["sts_sets"] if not self.is_world_sts_set(s)]

    def corpus_formats(self) -> dict[str, str]:
        """Corpus name -> format (flickr8k / places / spokencoco): which of the paper's models a model is."""
        return {name: spec["format"] for name, spec in self.config["corpora"].items()}

    def paper_comparison_inputs(self, sts_set: str) -> dict[str, Any]:
        """Table 2, the STS correlations, Table 3 (with subset models) and the whole-corpus models' similarities."""
        inputs: dict[str, Any] = {
            "retrieval": layout.fill(layout.TABLE, stem="table2_retrieval", ext="csv"),
            "correlations": layout.fill(layout.STS_TABLE, sts_set=sts_set, stem="sts_correlations", ext="csv"),
            "similarities": files_of(self.sts_records(sts_set, self.corpus_model_runs()), "similarities"),
        }
        if self.has_subset_models:
            inputs["aic"] = layout.fill(layout.STS_TABLE, sts_set=sts_set, stem="table3_aic", ext="csv")
        return inputs

    def evaluation_targets(self) -> list[str]:
        """Every per-run evaluation, table and figure of the evaluate stage (the default targets)."""
        targets = [
            path
            for run in self.speech_runs()
            for path in (run.retrieval_json, layout.fill(layout.RETRIEVAL_TSV, model=run.system, seed=run.seed))
        ]
        targets += [layout.fill(layout.TABLE, stem="table2_retrieval", ext=ext) for ext in layout.TABLE_FORMATS]
        targets += [layout.fill(layout.FIGURE, stem="learning_curves", ext=ext) for ext in layout.FIGURE_FORMATS]
        for sts_set in self.evaluate["sts_sets"]:
            targets += [run.sts_file(sts_set, name) for run in self.sts_runs() for name in layout.STS_RESULTS]
            targets += [
                layout.fill(layout.STS_TABLE, sts_set=sts_set, stem=stem, ext=ext)
                for stem in self.sts_table_stems()
                for ext in layout.TABLE_FORMATS
            ]
            targets += [
                layout.fill(layout.STS_TABLE, sts_set=sts_set, stem="model_comparisons", ext=ext)
                for ext in ("csv", "md")
            ]
            targets += self.protocol_tables(sts_set)
            targets += [
                layout.fill(layout.STS_FIGURE, sts_set=sts_set, stem=stem, ext=ext)
                for stem in self.sts_figure_stems()
                for ext in layout.FIGURE_FORMATS
            ]
        targets += [
            f"{layout.TABLES}/{sts_set}/{name}"
            for sts_set in self.paper_comparison_sets()
            for name in PAPER_COMPARISON_FILES
        ]
        return targets

    def final_targets(self) -> list[str]:
        """Everything ``snakemake`` builds by default: the evaluation, and the study when configured."""
        return self.evaluation_targets() + (self.study.targets() if self.config.get("study") else [])

    def sts_set_description(self, sts_set: str) -> str:
        """What r on an STS set is measured on, for captions: which pairs, spoken by which (synthetic) voices."""
        pairs = "the generated world's STS pairs" if self.is_world_sts_set(sts_set) else f"STS set {sts_set!r}"
        tts = self.config["tts"]
        return f"{pairs} spoken by {len(tts['voices'])} synthetic {tts['backend']} voices"
