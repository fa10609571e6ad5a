//! Airflow: DAGs made with `DAG(…)` (plain or `with DAG(…) as dag:`) or the
//! `@dag` decorator. A DAG with a schedule (`schedule=`, `schedule_interval=`,
//! `timetable=`) is scheduled automation; `schedule=None`, `"@once"` or none
//! written (Airflow 3's default) is run by hand, unless CI runs
//! `airflow dags trigger <id>`. Tasks are the DAG's steps: a
//! `python_callable` reaches the module defining it, a `bash_command` is
//! followed like any command, a pod's `cmds`/`arguments` too.

use crate::repo::RepoIndex;

use super::super::job::{JobSpec, Pending, Submitter};
use super::super::{CiSystem, CiWarning};
use super::pysrc::{self, Call};
use super::{
    optional_container_command, python_files, schedule, schedule_arg, skipped, PyFile, ScheduleArg,
    MAX_PIPELINES,
};

/// Operators that run a Python callable.
const PYTHON_OPERATORS: &[&str] = &[
    "PythonOperator",
    "PythonVirtualenvOperator",
    "BranchPythonOperator",
    "ShortCircuitOperator",
    "ExternalPythonOperator",
    "PythonSensor",
];
/// Operators that run a container's command.
const CONTAINER_OPERATORS: &[&str] = &[
    "KubernetesPodOperator",
    "GKEStartPodOperator",
    "DockerOperator",
    "EcsRunTaskOperator",
];

/// Every Airflow DAG of the repository.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let files = python_files(
        index,
        "Airflow",
        "airflow",
        |t| t.contains("DAG(") || t.contains("@dag"),
        warnings,
    );
    let mut out = Vec::new();
    for file in &files {
        read_file(index, file, warnings, &mut out);
        if out.len() >= MAX_PIPELINES {
            break;
        }
    }
    out
}

/// One DAG as found: its job and where its tasks start.
struct Dag {
    job: JobSpec,
    /// Statement index from which tasks belong to this DAG.
    from: usize,
}

fn read_file(
    index: &RepoIndex,
    file: &PyFile<'_>,
    warnings: &mut Vec<CiWarning>,
    out: &mut Vec<JobSpec>,
) {
    let mut dags: Vec<Dag> = Vec::new();
    for (i, stmt) in file.source.stmts.iter().enumerate() {
        for call in pysrc::calls(&stmt.text, &["DAG"]) {
            let id = call
                .kwarg("dag_id")
                .or_else(|| call.positional(0))
                .and_then(pysrc::string)
                .unwrap_or_else(|| assigned_name(&stmt.text).unwrap_or("dag").to_string());
            let job = dag_job(file, &id, stmt.line, &call, warnings);
            dags.push(Dag { job, from: i });
        }
    }
    for def in &file.defs {
        let Some(decorator) = def.decorated(&["dag"]) else {
            continue;
        };
        let call = pysrc::calls(decorator, &["dag"]).into_iter().next();
        let id = call
            .as_ref()
            .and_then(|c| c.kwarg("dag_id"))
            .and_then(pysrc::string)
            .unwrap_or_else(|| def.name.clone());
        let empty = Call {
            callee: "dag",
            args: "",
        };
        let job = dag_job(
            file,
            &id,
            def.line,
            call.as_ref().unwrap_or(&empty),
            warnings,
        );
        let from = def.body.start.saturating_sub(1);
        dags.push(Dag { job, from });
    }
    if dags.is_empty() {
        return;
    }
    dags.sort_by_key(|d| d.from);
    for (i, stmt) in file.source.stmts.iter().enumerate() {
        // A task belongs to the last DAG begun before it (the first DAG when
        // tasks come first, as with `dag=dag` arguments).
        let owner = dags.iter().rposition(|d| d.from <= i).unwrap_or(0);
        for call in pysrc::calls(&stmt.text, &[]) {
            if let Some(step) = task_step(index, file, stmt.line, &call) {
                dags[owner].job.commands.push(step);
            }
        }
    }
    for def in &file.defs {
        if def
            .decorated(&["task", "virtualenv", "external_python"])
            .is_some()
        {
            let owner = dags
                .iter()
                .rposition(|d| d.from <= def.body.start)
                .unwrap_or(0);
            dags[owner].job.commands.push(Pending::step(
                format!("{}: @task", def.name),
                file.path,
                def.line,
                vec![file.path.to_string()],
            ));
        }
    }
    out.extend(dags.into_iter().map(|d| d.job));
}

fn dag_job(
    file: &PyFile<'_>,
    id: &str,
    line: usize,
    call: &Call<'_>,
    warnings: &mut Vec<CiWarning>,
) -> JobSpec {
    let mut job = file.defined_pipeline(CiSystem::Airflow, line, "DAG", id);
    let written = ["schedule", "schedule_interval", "timetable"]
        .iter()
        .find_map(|k| call.kwarg(k));
    match written.map(|w| schedule_arg(w, &file.source)) {
        Some(ScheduleArg::Every(every)) => schedule(&mut job, every),
        Some(ScheduleArg::Unknown(expr)) => warnings.push(skipped(
            file.path,
            line,
            format!("the schedule of DAG `{id}` is `{expr}`, which mlscore cannot read; the DAG is counted as run by hand"),
        )),
        Some(ScheduleArg::Manual) | None => {}
    }
    job.submitted_by = vec![
        Submitter::program("airflow", &["trigger", id]),
        Submitter::program("airflow", &["test", id]),
    ];
    job
}

/// The step one operator call stands for, if it is a task.
fn task_step(
    index: &RepoIndex,
    file: &PyFile<'_>,
    line: usize,
    call: &Call<'_>,
) -> Option<Pending> {
    let operator = call.name();
    if !operator.ends_with("Operator") && !PYTHON_OPERATORS.contains(&operator) {
        return None;
    }
    let task = call
        .kwarg("task_id")
        .and_then(pysrc::string)
        .unwrap_or_else(|| operator.to_string());
    let text = format!("{task}: {operator}");
    if PYTHON_OPERATORS.contains(&operator) {
        let callable = call.kwarg("python_callable")?;
        return Some(
            file.callable_step(index, format!("{text}({callable})"), line, callable)
                .unwrap_or_else(|| Pending::step(text, file.path, line, Vec::new())),
        );
    }
    if operator == "BashOperator" {
        if let Some(command) = call.kwarg("bash_command").and_then(pysrc::string) {
            return Some(Pending::new(command.trim(), file.path, line, 0, ""));
        }
    }
    if CONTAINER_OPERATORS.contains(&operator) {
        let words: Vec<String> = ["cmds", "command", "arguments"]
            .iter()
            .filter_map(|k| call.kwarg(k))
            .flat_map(|v| {
                pysrc::string_list(v)
                    .or_else(|| pysrc::string(v).map(|s| vec![s]))
                    .unwrap_or_default()
            })
            .collect();
        if !words.is_empty() {
            return Some(optional_container_command(&words, file.path, line));
        }
    }
    if operator == "SparkSubmitOperator" {
        if let Some(app) = call.kwarg("application").and_then(pysrc::string) {
            if let Some(found) = super::resolve::path(index, file.path, "", &app) {
                return Some(Pending::step(text, file.path, line, vec![found]));
            }
        }
    }
    Some(Pending::step(text, file.path, line, Vec::new()))
}

/// `name` of `name = Call(…)`.
fn assigned_name(text: &str) -> Option<&str> {
    let (left, _) = text.split_once('=')?;
    let left = left.trim().trim_start_matches("with ").trim();
    left.chars()
        .all(|c| c.is_alphanumeric() || c == '_')
        .then_some(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAG: &str = "from airflow import DAG\nfrom airflow.operators.python import PythonOperator\nfrom airflow.operators.bash import BashOperator\nfrom tasks import train\n\nwith DAG(\n    dag_id='ml',\n    schedule_interval='0 3 * * *',\n) as dag:\n    t1 = PythonOperator(task_id='train', python_callable=train)\n    t2 = BashOperator(task_id='eval', bash_command='python scripts/evaluate.py')\n    t1 >> t2\n";

    fn read(files: &[(&str, &str)]) -> (Vec<JobSpec>, Vec<CiWarning>) {
        let index = RepoIndex::from_memory(files.iter().copied());
        let mut warnings = Vec::new();
        let jobs = jobs(&index, &mut warnings);
        (jobs, warnings)
    }

    #[test]
    fn a_scheduled_dag_and_its_tasks() {
        let (jobs, warnings) = read(&[
            ("dags/ml.py", DAG),
            ("dags/tasks.py", "def train():\n    pass\n"),
            ("scripts/evaluate.py", ""),
        ]);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(jobs.len(), 1);
        let job = &jobs[0];
        assert_eq!((job.name.as_str(), job.line), ("ml.py › ml", 6));
        assert!(job.automatic);
        assert_eq!(job.schedules, ["0 3 * * *"]);
        let steps: Vec<(&str, usize, Option<&[String]>)> = job
            .commands
            .iter()
            .map(|c| (c.text.as_str(), c.line, c.step_files.as_deref()))
            .collect();
        assert_eq!(
            steps[1],
            (
                "train: PythonOperator(train)",
                10,
                Some(&["dags/tasks.py".to_string()][..])
            )
        );
        assert_eq!(steps[2], ("python scripts/evaluate.py", 11, None));
    }

    #[test]
    fn schedule_none_and_decorated_dags_are_manual() {
        let manual =
            "from airflow import DAG\nwith DAG(dag_id='ml', schedule=None) as dag:\n    pass\n";
        let decorated = "from airflow.decorators import dag, task\n@dag(schedule='@hourly')\ndef etl():\n    @task\n    def load():\n        pass\n    load()\netl()\n";
        let (jobs, _) = read(&[("dags/a.py", manual), ("dags/b.py", decorated)]);
        assert_eq!(jobs.len(), 2);
        assert!(!jobs[0].automatic && jobs[0].schedules.is_empty());
        assert_eq!(
            jobs[0].submitted_by[0],
            Submitter::program("airflow", &["trigger", "ml"])
        );
        assert_eq!(
            (jobs[1].name.as_str(), jobs[1].automatic),
            ("b.py › etl", true)
        );
        assert!(jobs[1].commands.iter().any(|c| c.text == "load: @task"));
    }

    #[test]
    fn unreadable_schedules_and_broken_files_are_warnings() {
        let odd = "from airflow import DAG\nimport config\nwith DAG('x', schedule=config.CRON) as dag:\n    pass\n";
        let broken = "from airflow import DAG\nwith DAG('y', schedule='@daily' as dag:\n    pass\n";
        let (jobs, warnings) = read(&[("dags/odd.py", odd), ("dags/broken.py", broken)]);
        assert!(jobs.iter().all(|j| j.name != "odd.py › x" || !j.automatic));
        let lines: Vec<(&str, Option<usize>)> =
            warnings.iter().map(|w| (w.path.as_str(), w.line)).collect();
        assert!(lines.contains(&("dags/odd.py", Some(3))), "{warnings:?}");
        assert!(lines.contains(&("dags/broken.py", Some(2))), "{warnings:?}");
    }
}
