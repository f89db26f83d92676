"""knowmix.kfp: the sharded pipeline and the drop-in component, compiled
offline and run end to end with KFP's local subprocess runner."""


import json
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

kfp = pytest.importorskip("kfp")
from kfp import compiler, dsl, local  # noqa: E402

import knowmix  # noqa: E402
import knowmix.kfp as kkfp  # noqa: E402
from conftest import STEP_03, cli_mix, cut_entries, cut_files  # noqa: E402


def compiled(tmp_path: Path, func) -> dict:
    """The compiled pipeline spec; the platform spec (if any) as "platform"."""
    path = tmp_path / "compiled.yaml"
    compiler.Compiler().compile(func, str(path))
    documents = list(yaml.safe_load_all(path.read_text()))
    return {**documents[0], "platform": documents[1] if len(documents) > 1 else None}


def test_the_pipeline_compiles_with_two_parallel_for_loops_and_its_parameters(tmp_path: Path) -> None:
    spec = compiled(tmp_path, kkfp.knowledge_mixing_pipeline)
    params = spec["root"]["inputDefinitions"]["parameters"]
    defaults = {name: p.get("defaultValue") for name, p in params.items()}
    assert defaults == {
        "input_uri": None, "tokenizer": "RedHatAI/Llama-3.1-8B-Instruct", "cut_sizes": "5,50",
        "qa_per_doc": 3, "gpt_oss": False, "seed": 42, "shards": 4, "work_uri": "",
    }
    tasks = spec["root"]["dag"]["tasks"]
    loops = [name for name, task in tasks.items() if "parameterIterator" in task]
    assert len(loops) == 2
    assert {"knowmix-plan", "knowmix-indexed", "knowmix-merge"} <= set(tasks)
    inner = {loop: list(spec["components"][tasks[loop]["componentRef"]["name"]]["dag"]["tasks"])
             for loop in loops}
    assert sorted(inner.values()) == [["knowmix-emit"], ["knowmix-index"]]
    # The emit loop iterates over what the fan-in of every index shard returned.
    emit_loop = next(loop for loop, names in inner.items() if names == ["knowmix-emit"])
    assert "knowmix-indexed" in tasks[emit_loop]["dependentTasks"]
    assert emit_loop in tasks["knowmix-merge"]["dependentTasks"]
    assert set(spec["root"]["outputDefinitions"]["artifacts"]) == {"cut_folder", "dataset_file"}
    workspace = spec["platform"]["platforms"]["kubernetes"]["pipelineConfig"]["workspace"]
    assert workspace["kubernetes"]["pvcSpecPatch"]["accessModes"] == ["ReadWriteMany"]
    images = {e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values()}
    assert images == {kkfp.BASE_IMAGE}


def test_the_drop_in_has_the_reference_components_interface(tmp_path: Path) -> None:
    spec = compiled(tmp_path, kkfp.knowledge_mixing)
    component = spec["components"]["comp-knowledge-mixing"]
    params = component["inputDefinitions"]["parameters"]
    assert {name: p["defaultValue"] for name, p in params.items()} == {
        "tokenizer_model_name": "RedHatAI/Llama-3.1-8B-Instruct", "cut_size": "1,5,10",
        "qa_per_doc": 3, "save_gpt_oss_format": False,
    }
    assert set(component["inputDefinitions"]["artifacts"]) == {"datasets_path"}
    outputs = component["outputDefinitions"]
    assert outputs["artifacts"]["output_path"]["artifactType"]["schemaTitle"] == "system.Artifact"
    assert outputs["artifacts"]["dataset_file"]["artifactType"]["schemaTitle"] == "system.Dataset"
    assert outputs["parameters"]["Output"]["parameterType"] == "STRING"


def test_components_take_the_image_and_packages_as_parameters(tmp_path: Path) -> None:
    steps = kkfp.components(base_image="registry.example/knowmix:1", packages_to_install=["extra==1"])
    spec = compiled(tmp_path, steps.index)
    container = next(iter(spec["deploymentSpec"]["executors"].values()))["container"]
    assert container["image"] == "registry.example/knowmix:1"
    assert "extra==1" in " ".join(container["command"])


@pytest.fixture
def local_runner(tmp_path: Path) -> Path:
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"),
               workspace_root=str(tmp_path / "workspace"))
    return tmp_path


class _DropInOutputs(NamedTuple):
    output_path: dsl.Artifact
    dataset_file: dsl.Dataset


@dsl.pipeline(name="drop-in-test")
def _drop_in_pipeline(step_03: str) -> _DropInOutputs:
    # As the example's pipeline feeds it: the step-03 folder as an artifact.
    found = dsl.importer(artifact_uri=step_03, artifact_class=dsl.Artifact, reimport=True)
    mixing = kkfp.knowledge_mixing(datasets_path=found.output)
    return _DropInOutputs(mixing.outputs["output_path"], mixing.outputs["dataset_file"])


def test_the_drop_in_runs_locally_with_the_cli_bytes(local_runner: Path) -> None:
    run = _drop_in_pipeline(step_03=str(STEP_03))
    shell = cli_mix(local_runner / "shell", "--cut-sizes", "1,5,10")
    folder = Path(run.outputs["output_path"].path)
    assert cut_files(folder) == cut_files(shell)
    assert sorted(p.name for p in shell.iterdir()) == sorted(p.name for p in folder.iterdir())
    # The largest feasible cut (10 is not) is the training step's dataset_file.
    largest = (shell / "combined_cut_5x.jsonl").read_bytes()
    assert Path(run.outputs["dataset_file"].path).read_bytes() == largest
    written = json.loads((folder / "manifest.json").read_text())
    assert cut_entries(written) == cut_entries(knowmix.read_manifest(shell.parent))


def test_the_sharded_pipeline_runs_locally_with_the_cli_bytes(local_runner: Path) -> None:
    run = kkfp.knowledge_mixing_pipeline(input_uri=str(STEP_03), cut_sizes="3,5", shards=2)
    shell = cli_mix(local_runner / "shell", "--cut-sizes", "3,5")
    folder = Path(run.outputs["cut_folder"].path)
    assert cut_files(folder) == cut_files(shell)
    assert Path(run.outputs["dataset_file"].path).read_bytes() == (shell / "combined_cut_5x.jsonl").read_bytes()
