"""Kubeflow Pipelines v2: knowmix as the knowledge-tuning example's step 04.

Two ways in:

- :data:`knowledge_mixing`, a single-step component that is a drop-in for the
  example's ``components.knowledge_mixing.knowledge_mixing`` (same inputs,
  outputs and defaults; swap the import);
- :data:`knowledge_mixing_pipeline`, the mix split into shards: ``plan``,
  then a ``dsl.ParallelFor`` over index shards, then one over emit shards,
  then ``merge`` — its outputs are the cut folder (with ``manifest.json``)
  and ``dataset_file``, the largest feasible cut.

The shards share a work folder: the run's workspace volume (an RWX PVC, as
the example's pipeline configures), or ``work_uri`` (``s3://...``) when
given. Components are lightweight Python components that call the
``knowmix`` package installed in their image: build the image from the
repository's ``Containerfile`` and pass it as ``base_image`` to
:func:`components` / :func:`make_pipeline` (or set ``KNOWMIX_BASE_IMAGE``
before importing this module). The same code runs under
``kfp.local.SubprocessRunner`` on a machine with knowmix installed.
"""

import os
from types import SimpleNamespace
from typing import Any, Callable, NamedTuple, Optional, Sequence

from kfp import dsl

from knowmix import _kfp_components as bodies

__all__ = [
    "BASE_IMAGE",
    "components",
    "make_pipeline",
    "knowledge_mixing",
    "knowledge_mixing_pipeline",
]

#: The image the components run in: one built from the repository's
#: Containerfile (it holds the binary, this package and kfp).
BASE_IMAGE = os.environ.get("KNOWMIX_BASE_IMAGE", "localhost/knowmix:latest")

#: The CLI's default tokenizer id.
DEFAULT_TOKENIZER = "RedHatAI/Llama-3.1-8B-Instruct"


def components(
    base_image: str = BASE_IMAGE,
    packages_to_install: Sequence[str] = (),
    install_kfp_package: bool = True,
) -> SimpleNamespace:
    """The knowmix components for ``base_image``, plus ``packages_to_install``
    installed at start (e.g. ``["knowmix @ https://.../knowmix.whl"]`` on a
    plain Python image). Attributes: ``knowledge_mixing`` (single step),
    ``plan``, ``index``, ``indexed``, ``emit``, ``merge``."""

    def make(func: Callable[..., Any]) -> Any:
        return dsl.component(
            func,
            base_image=base_image,
            packages_to_install=list(packages_to_install),
            install_kfp_package=install_kfp_package,
        )

    return SimpleNamespace(
        knowledge_mixing=make(bodies.knowledge_mixing),
        plan=make(bodies.knowmix_plan),
        index=make(bodies.knowmix_index),
        indexed=make(bodies.knowmix_indexed),
        emit=make(bodies.knowmix_emit),
        merge=make(bodies.knowmix_merge),
    )


def make_pipeline(
    base_image: str = BASE_IMAGE,
    packages_to_install: Sequence[str] = (),
    install_kfp_package: bool = True,
    workspace_size: str = "20Gi",
    storage_class: Optional[str] = None,
) -> Any:
    """The sharded pipeline with its components on ``base_image``. The
    workspace volume (``workspace_size``, ReadWriteMany, ``storage_class``
    e.g. ``"nfs-csi"``) holds the work folder unless ``work_uri`` is set."""
    steps = components(base_image, packages_to_install, install_kfp_package)
    patch: dict = {"accessModes": ["ReadWriteMany"]}
    if storage_class:
        patch["storageClassName"] = storage_class
    config = dsl.PipelineConfig(
        workspace=dsl.WorkspaceConfig(
            size=workspace_size,
            kubernetes=dsl.KubernetesWorkspaceConfig(pvcSpecPatch=patch),
        )
    )

    @dsl.pipeline(
        name="knowledge-mixing",
        description="knowmix: step 04 knowledge mixing split into index and emit shards",
        pipeline_config=config,
    )
    def knowledge_mixing_pipeline(
        input_uri: str,
        tokenizer: str = DEFAULT_TOKENIZER,
        cut_sizes: str = "5,50",
        qa_per_doc: int = 3,
        gpt_oss: bool = False,
        seed: int = 42,
        shards: int = 4,
        work_uri: str = "",
    ) -> NamedTuple("Outputs", [("cut_folder", dsl.Artifact), ("dataset_file", dsl.Dataset)]):  # type: ignore[misc]
        # Every stage finds the run's work folder from these three.
        where = dict(work_uri=work_uri, workspace=dsl.WORKSPACE_PATH_PLACEHOLDER,
                     job_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER)
        plan = steps.plan(
            input_uri=input_uri,
            shards=shards,
            tokenizer=tokenizer,
            cut_sizes=cut_sizes,
            qa_per_doc=qa_per_doc,
            gpt_oss=gpt_oss,
            seed=seed,
            **where,
        )
        with dsl.ParallelFor(plan.output) as shard:
            index = steps.index(shard=shard, **where)
        indexed = steps.indexed(shard_ids=dsl.Collected(index.output))
        with dsl.ParallelFor(indexed.output) as shard:
            emit = steps.emit(shard=shard, **where)
        merge = steps.merge(emitted=dsl.Collected(emit.output), **where)
        outputs = NamedTuple(  # type: ignore[misc]
            "Outputs", [("cut_folder", dsl.Artifact), ("dataset_file", dsl.Dataset)]
        )
        return outputs(merge.outputs["cut_folder"], merge.outputs["dataset_file"])

    return knowledge_mixing_pipeline


_default = components()

#: Drop-in for the knowledge-tuning example's ``knowledge_mixing`` component.
knowledge_mixing = _default.knowledge_mixing

#: The sharded pipeline on :data:`BASE_IMAGE`; see :func:`make_pipeline`.
knowledge_mixing_pipeline = make_pipeline()
