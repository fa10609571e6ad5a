//! Kedro: `create_pipeline()` (or `create_x_pipeline()`) functions returning `pipeline([node(func,
//! inputs, outputs), …])`, registered by `pipeline_registry.py`. Each node
//! reaches the module defining its function; `kedro run` in CI runs them.

use crate::repo::RepoIndex;

use super::super::job::{JobSpec, Submitter};
use super::super::{lines, paths, CiSystem, CiWarning};
use super::pysrc::{self, Def};
use super::{pipeline_job, python_files, MAX_PIPELINES};

/// Every Kedro pipeline of the repository.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let files = python_files(index, "Kedro", "kedro", |t| t.contains("node("), warnings);
    let mut out = Vec::new();
    for file in &files {
        // `create_pipeline`, or a project's own `create_etl_pipeline`.
        let creates = |d: &&Def| {
            d.indent == 0
                && !d.is_class
                && d.name.starts_with("create_")
                && d.name.ends_with("pipeline")
        };
        for def in file.defs.iter().filter(creates) {
            if out.len() >= MAX_PIPELINES {
                return out;
            }
            // `pipelines/data_science/pipeline.py` is the `data_science` pipeline.
            let dir = paths::file_name(paths::parent(file.path));
            let name = match (def.name.as_str(), dir) {
                ("create_pipeline", "") => "__default__",
                ("create_pipeline", dir) => dir,
                (own, _) => own,
            };
            let mut job = pipeline_job(
                CiSystem::Kedro,
                format!("{} › {name}", file.path),
                file.path,
                def.line,
            );
            for stmt in file.body(def) {
                for call in pysrc::calls(&stmt.text, &["node"]) {
                    let Some(func) = call.kwarg("func").or_else(|| call.positional(0)) else {
                        continue;
                    };
                    let label = call
                        .kwarg("name")
                        .and_then(pysrc::string)
                        .unwrap_or_else(|| func.to_string());
                    let text = format!("{label}: node({func})");
                    // The node's own line inside a multi-line `pipeline([…])`.
                    let line = lines::find_line(file.text, func, stmt.line).unwrap_or(stmt.line);
                    if let Some(step) = file.callable_step(index, text, line, func) {
                        job.commands.push(step);
                    }
                }
            }
            job.submitted_by = vec![Submitter::program("kedro", &["run"])];
            out.push(job);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_reach_their_functions() {
        let pipeline = "from kedro.pipeline import Pipeline, node, pipeline\nfrom .nodes import split_data, train_model\n\ndef create_pipeline(**kwargs) -> Pipeline:\n    return pipeline([\n        node(split_data, ['data'], ['train', 'test'], name='split'),\n        node(func=train_model, inputs='train', outputs='model'),\n    ])\n";
        let index = RepoIndex::from_memory([
            ("src/proj/pipelines/data_science/pipeline.py", pipeline),
            (
                "src/proj/pipelines/data_science/nodes.py",
                "def split_data():\n    pass\ndef train_model():\n    pass\n",
            ),
        ]);
        let mut warnings = Vec::new();
        let jobs = jobs(&index, &mut warnings);
        assert_eq!(jobs.len(), 1);
        let job = &jobs[0];
        assert_eq!(
            job.name,
            "src/proj/pipelines/data_science/pipeline.py › data_science"
        );
        assert_eq!(
            job.command_lines(),
            [
                ("split: node(split_data)", 6),
                ("train_model: node(train_model)", 7)
            ]
        );
        assert_eq!(
            job.commands[0].step_files.as_deref(),
            Some(&["src/proj/pipelines/data_science/nodes.py".to_string()][..])
        );
        assert_eq!(job.submitted_by, [Submitter::program("kedro", &["run"])]);
    }
}
