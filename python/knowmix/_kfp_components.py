"""The bodies of the Kubeflow components, as plain functions.

KFP serialises each function's source into the component and runs it in the
container, so each one imports what it needs and only calls the installed
``knowmix`` package (which runs the binary). :mod:`knowmix.kfp` turns them
into components with the base image and packages chosen there.
"""

from typing import List

from kfp.dsl import Artifact, Dataset, Input, Output


def knowledge_mixing(
    datasets_path: Input[Artifact],
    output_path: Output[Artifact],
    dataset_file: Output[Dataset],
    tokenizer_model_name: str = "RedHatAI/Llama-3.1-8B-Instruct",
    cut_size: str = "1,5,10",
    qa_per_doc: int = 3,
    save_gpt_oss_format: bool = False,
) -> str:
    """Step 04 in one step, a drop-in for the knowledge-tuning example's
    component of the same name: the cut files and manifest in
    ``output_path``, the largest feasible cut copied to ``dataset_file``;
    returns that cut's path."""
    from knowmix import _steps

    return _steps.mix_into(
        datasets_path.path,
        output_path.path,
        dataset_file.path,
        tokenizer=_steps.tokenizer_source(tokenizer_model_name),
        cut_sizes=cut_size,
        qa_per_doc=qa_per_doc,
        gpt_oss=save_gpt_oss_format,
    )


def knowmix_plan(
    input_uri: str,
    work_uri: str,
    workspace: str,
    job_id: str,
    shards: int,
    tokenizer: str,
    cut_sizes: str,
    qa_per_doc: int,
    gpt_oss: bool,
    seed: int,
) -> List[int]:
    """``knowmix shard plan`` into this run's work folder (under ``work_uri``
    when given, else the pipeline's workspace volume); returns the shard
    numbers for the index loop."""
    from knowmix import _steps

    _steps.plan(
        input_uri,
        _steps.work_folder(work_uri, workspace, job_id),
        shards,
        tokenizer=tokenizer,
        cut_sizes=cut_sizes,
        qa_per_doc=qa_per_doc,
        gpt_oss=gpt_oss,
        seed=seed,
    )
    return list(range(shards))


def knowmix_index(work_uri: str, workspace: str, job_id: str, shard: int) -> int:
    """``knowmix shard index`` for one shard."""
    from knowmix import _steps

    _steps.stage("index", _steps.work_folder(work_uri, workspace, job_id), shard)
    return shard


def knowmix_indexed(shard_ids: List[int]) -> List[int]:
    """Waits for every index shard (fan-in) and hands the emit loop its shards."""
    return sorted(shard_ids)


def knowmix_emit(work_uri: str, workspace: str, job_id: str, shard: int) -> int:
    """``knowmix shard emit`` for one shard."""
    from knowmix import _steps

    _steps.stage("emit", _steps.work_folder(work_uri, workspace, job_id), shard)
    return shard


def knowmix_merge(
    work_uri: str,
    workspace: str,
    job_id: str,
    emitted: List[int],
    cut_folder: Output[Artifact],
    dataset_file: Output[Dataset],
) -> str:
    """``knowmix shard merge``: the cut files and manifest in ``cut_folder``,
    the largest feasible cut copied to ``dataset_file``; returns its path."""
    from knowmix import _steps

    work = _steps.work_folder(work_uri, workspace, job_id)
    return _steps.merge_into(work, cut_folder.path, dataset_file.path)
