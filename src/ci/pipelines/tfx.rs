//! TFX: `pipeline.Pipeline(components=[…])` built in a `create_pipeline`
//! function from standard components (`ExampleGen`, `StatisticsGen`,
//! `SchemaGen`, `ExampleValidator`, `Transform`, `Trainer`, `Evaluator` with
//! `eval_config` thresholds, `Pusher`…); `module_file=`/`run_fn=` reach the
//! user code. A runner (`LocalDagRunner`, `KubeflowV2DagRunner`…) in a file
//! that defines or imports the pipeline submits it.

use crate::repo::RepoIndex;

use super::super::job::{JobSpec, Pending};
use super::super::{python, CiSystem, CiWarning};
use super::pysrc::{self, Call};
use super::{api_submitters, pipeline_name, python_files, resolve, PyFile, MAX_PIPELINES};

/// TFX components, matched on the end of the class name (`BigQueryExampleGen`).
const COMPONENTS: &[&str] = &[
    "ExampleGen",
    "StatisticsGen",
    "SchemaGen",
    "ExampleValidator",
    "Transform",
    "Trainer",
    "Tuner",
    "Evaluator",
    "InfraValidator",
    "Pusher",
    "BulkInferrer",
];
/// Runners that run or compile-and-submit a TFX pipeline.
const RUNNERS: &[&str] = &[
    "LocalDagRunner(",
    "BeamDagRunner(",
    "KubeflowDagRunner(",
    "KubeflowV2DagRunner(",
    "AirflowDagRunner(",
    "VertexDagRunner(",
];

/// Every TFX pipeline of the repository.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let files = python_files(index, "TFX", "tfx", |t| t.contains("Pipeline("), warnings);
    let mut out = Vec::new();
    for file in &files {
        for (i, stmt, call) in file.pipeline_calls("components") {
            if out.len() >= MAX_PIPELINES {
                continue;
            }
            let (enclosing, scope) = file.scope_of(i);
            let name = pipeline_name(
                call.kwarg("pipeline_name").and_then(pysrc::string),
                enclosing,
            );
            let mut job = file.defined_pipeline(CiSystem::Tfx, stmt.line, "TFX pipeline", &name);
            for inner in scope {
                for component in pysrc::calls(&inner.text, &[]) {
                    if let Some(step) = component_step(index, file, inner.line, &component) {
                        job.commands.push(step);
                    }
                }
            }
            job.submitted_by = api_submitters(index, file.path, RUNNERS);
            out.push(job);
        }
    }
    out
}

/// The step a component instantiation stands for.
fn component_step(
    index: &RepoIndex,
    file: &PyFile<'_>,
    line: usize,
    call: &Call<'_>,
) -> Option<Pending> {
    let name = call.name();
    let kind = COMPONENTS.iter().find(|c| name.ends_with(*c))?;
    let mut text = format!("{name}: {kind}");
    if *kind == "Evaluator"
        && call.kwarg("eval_config").is_some()
        && (file.text.contains("ValueThreshold") || file.text.contains("MetricThreshold"))
    {
        text.push_str(" with thresholds");
    }
    let mut files = Vec::new();
    if let Some(module_file) = call.kwarg("module_file").and_then(pysrc::string) {
        files.extend(resolve::path(index, file.path, "", &module_file));
    }
    for key in ["run_fn", "preprocessing_fn", "tuner_fn"] {
        // `run_fn="src.model_training.runner.run"`: a dotted function path.
        if let Some(dotted) = call.kwarg(key).and_then(pysrc::string) {
            let module = dotted.rsplit_once('.').map_or(dotted.as_str(), |(m, _)| m);
            files.extend(python::module_files(
                index,
                module,
                &[String::new(), "src".to_string()],
                false,
            ));
        }
    }
    files.retain(|f| index.is_file(f));
    Some(Pending::step(text, file.path, line, files))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::job::Submitter;

    #[test]
    fn components_thresholds_and_runner() {
        let pipeline = "import tensorflow_model_analysis as tfma\nfrom tfx.orchestration import pipeline\nfrom tfx.v1.components import StatisticsGen, SchemaGen, ExampleValidator, Trainer, Evaluator, Pusher\n\ndef create_pipeline(root):\n    stats = StatisticsGen(examples=gen.outputs['examples'])\n    validator = ExampleValidator(statistics=stats.outputs['statistics'])\n    trainer = Trainer(module_file='src/model.py', examples=x)\n    eval_config = tfma.EvalConfig(metrics_specs=[tfma.MetricConfig(threshold=tfma.MetricThreshold(value_threshold=tfma.GenericValueThreshold(lower_bound={'value': 0.8})))])\n    evaluator = Evaluator(model=trainer.outputs['model'], eval_config=eval_config)\n    pusher = Pusher(model=trainer.outputs['model'])\n    return pipeline.Pipeline(pipeline_name='train', pipeline_root=root, components=[stats, validator, trainer, evaluator, pusher])\n";
        let runner = "from tfx.orchestration.local.local_dag_runner import LocalDagRunner\nfrom pipelines import training\nLocalDagRunner().run(training.create_pipeline('x'))\n";
        let index = RepoIndex::from_memory([
            ("pipelines/training.py", pipeline),
            ("pipelines/run_local.py", runner),
            ("src/model.py", ""),
        ]);
        let mut warnings = Vec::new();
        let jobs = jobs(&index, &mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(jobs.len(), 1);
        let texts: Vec<&str> = jobs[0].commands[1..]
            .iter()
            .map(|c| c.text.as_str())
            .collect();
        assert_eq!(
            texts,
            [
                "StatisticsGen: StatisticsGen",
                "ExampleValidator: ExampleValidator",
                "Trainer: Trainer",
                "Evaluator: Evaluator with thresholds",
                "Pusher: Pusher"
            ]
        );
        assert_eq!(
            jobs[0].commands[3].step_files.as_deref(),
            Some(&["src/model.py".to_string()][..])
        );
        assert_eq!(
            jobs[0].submitted_by,
            [Submitter::file("pipelines/run_local.py")]
        );
    }
}
