//! Jenkins: `Jenkinsfile`s, declarative and scripted. Every `stage` is a job;
//! `sh`/`bat`/`powershell` steps in any call form are its commands; `dir()`
//! blocks move their working directory; `cron` triggers schedule every job of
//! the file; `load 'x.groovy'` pulls in that file's steps one level deeper.

use std::collections::HashSet;

use crate::repo::RepoIndex;

use super::groovy::{self, Tok, Token};
use super::job::{JobSpec, Pending};
use super::{paths, shell, CiSystem, CiWarning};

/// Longest working directory nested `dir()` blocks build; deeper nesting
/// keeps the folder it had, so the cost per step stays bounded.
const MAX_CWD_LEN: usize = 512;

/// How deep `load` chains are followed.
const MAX_LOAD_DEPTH: usize = 4;

/// Every Jenkins job of the repository.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let mut out = Vec::new();
    // Each file with whether it is named a Jenkinsfile (else it is a script
    // read as a pipeline by its content).
    let pipelines = index.files().iter().filter_map(|f| {
        let named = is_jenkinsfile(&f.path, f.name());
        let opens = || {
            may_be_pipeline_script(&f.path) && index.entry_text(f).is_some_and(starts_a_pipeline)
        };
        (named || opens()).then_some((f, named))
    });
    for (entry, named_jenkinsfile) in pipelines {
        let path = entry.path.as_str();
        let Some(text) = index.entry_text(entry) else {
            warnings.push(CiWarning {
                path: path.to_string(),
                line: None,
                message: "could not read this Jenkinsfile; its stages are not counted".into(),
            });
            continue;
        };
        let mut reader = Reader {
            index,
            warnings,
            visited: HashSet::from([path.to_string()]),
        };
        let parsed = reader.parse(path, text, 0);
        let schedules = parsed.crons.clone();
        // A `Jenkinsfile` is what a multibranch job builds on every push. A
        // script under another name runs from a job someone pointed at it;
        // without a `triggers` block nothing says that job starts by itself.
        let automatic = named_jenkinsfile || text.contains("triggers");
        let has_stages = !parsed.stages.is_empty();
        let mut specs: Vec<JobSpec> = parsed
            .stages
            .into_iter()
            .map(|stage| JobSpec {
                system: CiSystem::Jenkins,
                name: format!("{path} › {}", stage.name),
                file: path.to_string(),
                line: stage.line,
                schedules: schedules.clone(),
                automatic,
                on_change: None,
                commands: stage.commands,
                submitted_by: Vec::new(),
            })
            .collect();
        if !parsed.top.commands.is_empty() || !has_stages {
            specs.insert(
                0,
                JobSpec {
                    system: CiSystem::Jenkins,
                    name: path.to_string(),
                    file: path.to_string(),
                    line: parsed.top.line,
                    schedules,
                    automatic,
                    on_change: None,
                    commands: parsed.top.commands,
                    submitted_by: Vec::new(),
                },
            );
        }
        out.extend(specs);
    }
    out
}

/// `Jenkinsfile`, `Jenkinsfile.release`, `ci/nightly.jenkinsfile`, at any depth.
fn is_jenkinsfile(path: &str, name: &str) -> bool {
    (name == "Jenkinsfile"
        || name.starts_with("Jenkinsfile.")
        || crate::text::case::ends_with_ignore_case(name, ".jenkinsfile"))
        && !path.contains("node_modules/")
}

/// A file a Jenkins job may be pointed at (its script path is set in Jenkins,
/// not in the repository): `Jenkins`, `jenkins/build.groovy`,
/// `ci/jenkins-release` — a name or folder saying Jenkins, no extension or
/// `.groovy`. Only its content says whether it is a pipeline.
fn may_be_pipeline_script(path: &str) -> bool {
    use crate::text::case::contains_ignore_case;
    let extension = paths::file_name(path).rsplit_once('.').map(|(_, e)| e);
    contains_ignore_case(path, "jenkins")
        && !contains_ignore_case(path, "node_modules/")
        && extension.is_none_or(|e| e.eq_ignore_ascii_case("groovy"))
}

/// Whether a script opens with a declarative `pipeline {` or a scripted
/// `node {` / `node('label') {`, after comments and `@Library` lines.
fn starts_a_pipeline(text: &str) -> bool {
    let mut rest = text.trim_start_matches('\u{feff}');
    loop {
        rest = rest.trim_start();
        if rest.starts_with("#!") || rest.starts_with("//") || rest.starts_with('@') {
            rest = rest.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, r)| r);
        } else if let Some(after) = rest.strip_prefix("import ") {
            rest = after.split_once('\n').map_or("", |(_, r)| r);
        } else {
            break;
        }
    }
    let opens = |keyword: &str, openers: &[char]| {
        rest.strip_prefix(keyword)
            .is_some_and(|r| r.trim_start().starts_with(openers))
    };
    opens("pipeline", &['{']) || opens("node", &['{', '('])
}

/// A stage (or the file-level job) being filled.
#[derive(Debug, Default)]
struct Draft {
    name: String,
    line: usize,
    commands: Vec<Pending>,
}

/// What one file holds.
#[derive(Debug, Default)]
struct Parsed {
    top: Draft,
    stages: Vec<Draft>,
    crons: Vec<String>,
}

/// What an open `{` belongs to.
enum Frame {
    Stage(usize),
    Dir(String),
    Plain,
}

/// The open `{`s, with the innermost stage and `dir()` kept at hand so a
/// step costs the same however deep it is nested.
#[derive(Default)]
struct Frames {
    frames: Vec<Frame>,
    /// Working directories of the open `dir()` blocks, innermost last.
    dirs: Vec<String>,
    /// Ids of the open stages, innermost last.
    stages: Vec<usize>,
}

impl Frames {
    fn push(&mut self, frame: Frame) {
        match &frame {
            Frame::Stage(id) => self.stages.push(*id),
            Frame::Dir(dir) => self.dirs.push(dir.clone()),
            Frame::Plain => {}
        }
        self.frames.push(frame);
    }

    fn pop(&mut self) {
        match self.frames.pop() {
            Some(Frame::Stage(_)) => {
                self.stages.pop();
            }
            Some(Frame::Dir(_)) => {
                self.dirs.pop();
            }
            _ => {}
        }
    }

    fn len(&self) -> usize {
        self.frames.len()
    }

    /// The working directory set by enclosing `dir()` blocks.
    fn cwd(&self) -> &str {
        self.dirs.last().map_or("", String::as_str)
    }
}

struct Reader<'a> {
    index: &'a RepoIndex,
    warnings: &'a mut Vec<CiWarning>,
    visited: HashSet<String>,
}

impl Reader<'_> {
    fn parse(&mut self, path: &str, text: &str, depth: usize) -> Parsed {
        let tokens = groovy::tokenize(text);
        let close = closers(&tokens);
        let mut parsed = Parsed {
            top: Draft {
                name: path.to_string(),
                line: tokens.first().map_or(1, |t| t.line),
                commands: Vec::new(),
            },
            ..Parsed::default()
        };
        let mut stack = Frames::default();
        // Old scripted `stage 'Build'` without a block: applies until the next one.
        let mut flat_stage: Option<(usize, usize)> = None;
        let mut i = 0;
        while i < tokens.len() {
            let token = &tokens[i];
            match &token.tok {
                Tok::Punct('{') => stack.push(Frame::Plain),
                Tok::Punct('}') => {
                    stack.pop();
                    if flat_stage.is_some_and(|(_, level)| stack.len() < level) {
                        flat_stage = None;
                    }
                }
                Tok::Ident(name) if is_step_position(&tokens, i) => {
                    // Only steps that run or move somewhere need the folder.
                    let cwd = match name.as_str() {
                        "dir" | "sh" | "bat" | "powershell" | "pwsh" | "load" => {
                            stack.cwd().to_string()
                        }
                        _ => String::new(),
                    };
                    match name.as_str() {
                        "stage" => {
                            if let Some((stage_name, _, after)) =
                                string_argument(&tokens, &close, i + 1, "name")
                            {
                                parsed.stages.push(Draft {
                                    name: stage_name,
                                    line: token.line,
                                    commands: Vec::new(),
                                });
                                let id = parsed.stages.len() - 1;
                                if punct_at(&tokens, after, '{') {
                                    stack.push(Frame::Stage(id));
                                    i = after + 1;
                                } else {
                                    flat_stage = Some((id, stack.len()));
                                    i = after;
                                }
                                continue;
                            }
                        }
                        "dir" => {
                            if let Some((dir, _, after)) =
                                string_argument(&tokens, &close, i + 1, "path")
                            {
                                if punct_at(&tokens, after, '{') {
                                    stack.push(Frame::Dir(
                                        paths::join(&cwd, &dir)
                                            .filter(|joined| joined.len() <= MAX_CWD_LEN)
                                            .unwrap_or(cwd.clone()),
                                    ));
                                    i = after + 1;
                                    continue;
                                }
                            }
                        }
                        "sh" | "bat" | "powershell" | "pwsh" => {
                            if let Some((script, line, after)) = step_script(&tokens, &close, i + 1)
                            {
                                let commands =
                                    shell::placed_commands(self.index, &script, line, &cwd)
                                        .into_iter()
                                        .map(|p| {
                                            Pending::new(
                                                p.command.text,
                                                path,
                                                p.command.line,
                                                depth,
                                                &p.cwd,
                                            )
                                        });
                                draft(&mut parsed, &stack, flat_stage)
                                    .commands
                                    .extend(commands);
                                i = after;
                                continue;
                            }
                        }
                        "cron" | "parameterizedCron" => {
                            if let Some((spec, _, after)) =
                                string_argument(&tokens, &close, i + 1, "spec")
                            {
                                parsed.crons.extend(
                                    spec.lines()
                                        .map(str::trim)
                                        .filter(|l| !l.is_empty() && !l.starts_with('#'))
                                        .map(str::to_string),
                                );
                                i = after;
                                continue;
                            }
                        }
                        "load" => {
                            if let Some((file, line, after)) =
                                string_argument(&tokens, &close, i + 1, "path")
                            {
                                let commands = self.load(path, line, &cwd, &file, depth);
                                draft(&mut parsed, &stack, flat_stage)
                                    .commands
                                    .extend(commands);
                                i = after;
                                continue;
                            }
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
            i += 1;
        }
        parsed
    }

    /// The steps of a `load`ed Groovy file, one level deeper.
    fn load(
        &mut self,
        from: &str,
        line: usize,
        cwd: &str,
        file: &str,
        depth: usize,
    ) -> Vec<Pending> {
        let Some(path) = paths::join(cwd, file) else {
            return Vec::new();
        };
        if depth + 1 > MAX_LOAD_DEPTH || !self.visited.insert(path.clone()) {
            return Vec::new();
        }
        let Some(text) = self.index.text(&path) else {
            self.warnings.push(CiWarning {
                path: from.to_string(),
                line: Some(line),
                message: format!("`load '{file}'` names no readable file of the repository; its steps are not counted"),
            });
            return Vec::new();
        };
        let parsed = self.parse(&path, text, depth + 1);
        let mut commands = parsed.top.commands;
        for stage in parsed.stages {
            commands.extend(stage.commands);
        }
        commands
    }
}

/// The job that steps at this point belong to.
fn draft<'p>(
    parsed: &'p mut Parsed,
    stack: &Frames,
    flat_stage: Option<(usize, usize)>,
) -> &'p mut Draft {
    let innermost = stack.stages.last().copied();
    match innermost.or(flat_stage.map(|(id, _)| id)) {
        Some(id) if id < parsed.stages.len() => &mut parsed.stages[id],
        _ => &mut parsed.top,
    }
}

/// Whether the identifier at `i` is a step call, not a property (`env.sh`) or
/// a variable being assigned; `steps.sh` in shared-library code counts.
fn is_step_position(tokens: &[Token], i: usize) -> bool {
    if punct_at(tokens, i + 1, '=') || punct_at(tokens, i + 1, '.') {
        return false;
    }
    if i >= 1 && punct_at(tokens, i - 1, '.') {
        return i >= 2 && matches!(&tokens[i - 2].tok, Tok::Ident(s) if s == "steps");
    }
    true
}

fn punct_at(tokens: &[Token], i: usize, c: char) -> bool {
    matches!(tokens.get(i), Some(Token { tok: Tok::Punct(p), .. }) if *p == c)
}

fn str_at(tokens: &[Token], i: usize) -> Option<(String, usize)> {
    match tokens.get(i) {
        Some(Token {
            tok: Tok::Str(s),
            line,
        }) => Some((s.clone(), *line)),
        _ => None,
    }
}

/// The string argument of `name 'x'`, `name('x', …)` or `name(key: 'x')`:
/// (value, line, index after the call).
fn string_argument(
    tokens: &[Token],
    close: &[usize],
    j: usize,
    key: &str,
) -> Option<(String, usize, usize)> {
    if let Some((value, line)) = str_at(tokens, j) {
        return Some((value, line, j + 1));
    }
    if !punct_at(tokens, j, '(') {
        return None;
    }
    let end = *close.get(j).filter(|&&c| c != NO_CLOSE)?;
    if let Some((value, line)) = str_at(tokens, j + 1) {
        return Some((value, line, end + 1));
    }
    named_string(tokens, close, j + 1, end, key).map(|(value, line)| (value, line, end + 1))
}

/// The script of an `sh` step in any form: `sh 'x'`, `sh('x')`,
/// `sh(script: 'x', returnStdout: true)`, `sh script: 'x'`,
/// `sh label: 'l', script: 'x'`.
fn step_script(tokens: &[Token], close: &[usize], j: usize) -> Option<(String, usize, usize)> {
    if let Some(found) = string_argument(tokens, close, j, "script") {
        return Some(found);
    }
    // Named arguments without parentheses, up to the end of the argument list.
    let mut k = j;
    let mut script = None;
    while matches!(tokens.get(k).map(|t| &t.tok), Some(Tok::Ident(_)))
        && punct_at(tokens, k + 1, ':')
    {
        if matches!(&tokens[k].tok, Tok::Ident(s) if s == "script") {
            script = str_at(tokens, k + 2);
        }
        k += 3;
        if !punct_at(tokens, k, ',') {
            break;
        }
        k += 1;
    }
    script.map(|(value, line)| (value, line, k))
}

/// `key: 'value'` between `from` and `to` at the top nesting level. Nested
/// groups are jumped over, so nested calls (`sh(script: sh(script: …))`)
/// cost their length once, not once per level.
fn named_string(
    tokens: &[Token],
    close: &[usize],
    from: usize,
    to: usize,
    key: &str,
) -> Option<(String, usize)> {
    let mut k = from;
    while k < to {
        match &tokens[k].tok {
            Tok::Punct('(' | '[' | '{') => match close[k] {
                NO_CLOSE => return None,
                end => k = end,
            },
            Tok::Ident(name) if name == key && punct_at(tokens, k + 1, ':') => {
                return str_at(tokens, k + 2)
            }
            _ => {}
        }
        k += 1;
    }
    None
}

/// Marks an opening bracket without a closing one.
const NO_CLOSE: usize = usize::MAX;

/// For each opening bracket (`(`, `[`, `{`), the index of the bracket that
/// closes it (any kind closes the innermost open one), found in one pass;
/// [`NO_CLOSE`] for other tokens and unclosed brackets.
fn closers(tokens: &[Token]) -> Vec<usize> {
    let mut close = vec![NO_CLOSE; tokens.len()];
    let mut open = Vec::new();
    for (k, token) in tokens.iter().enumerate() {
        match token.tok {
            Tok::Punct('(' | '[' | '{') => open.push(k),
            Tok::Punct(')' | ']' | '}') => {
                if let Some(start) = open.pop() {
                    close[start] = k;
                }
            }
            _ => {}
        }
    }
    close
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECLARATIVE: &str = r#"// Nightly training pipeline
pipeline {
    agent { docker { image 'python:3.11' } }
    triggers {
        cron('H 2 * * *')
        pollSCM('H/5 * * * *')
    }
    stages {
        stage('Setup') {
            steps {
                sh 'pip install -r requirements.txt'
            }
        }
        stage("Unit tests") {
            steps {
                sh "pytest tests/unit --junitxml=${env.WORKSPACE}/report.xml"
                sh(script: 'python -m pytest tests/data', returnStdout: true)
                sh label: 'schema', script: 'python -m pipeline.validate'
                script {
                    def out = sh(returnStatus: true, script: "make lint")
                }
            }
        }
        stage('Train') {
            steps {
                dir('ml') {
                    sh '''
                        python train.py \
                          --epochs 1
                        make evaluate
                    '''
                }
                bat 'echo done'
            }
        }
    }
}
"#;

    #[test]
    fn a_script_named_for_jenkins_is_read_when_it_opens_a_pipeline() {
        assert!(may_be_pipeline_script("Jenkins"));
        assert!(may_be_pipeline_script("ci/jenkins/release.groovy"));
        assert!(!may_be_pipeline_script("jenkins.txt"));
        assert!(!may_be_pipeline_script("docs/build.groovy"));
        // Case does not matter, in the word, the extension or the folder
        // that rules a path out.
        assert!(may_be_pipeline_script("CI/JENKINS/Release.GROOVY"));
        assert!(!may_be_pipeline_script("Node_Modules/jenkins/x"));
        assert!(!may_be_pipeline_script("ci/jenkins.Txt"));
        assert!(starts_a_pipeline(
            "// CI\n/* multi\nline */\n@Library('x') _\npipeline {\n}"
        ));
        assert!(starts_a_pipeline("node('linux') {\n  sh 'make'\n}"));
        assert!(!starts_a_pipeline("def helper() {\n  pipeline {}\n}"));
        assert!(!starts_a_pipeline(
            "Jenkins notes: pipeline { is how it starts"
        ));
        let index = RepoIndex::from_memory([
            ("Jenkins", "pipeline {\n  agent any\n  stages {\n    stage('Test') {\n      steps { sh 'pytest tests' }\n    }\n  }\n}\n"),
            ("jenkins.txt", "pipeline { stages { stage('No') { steps { sh 'make' } } } }"),
            ("jenkins/notes", "how our Jenkins is set up"),
        ]);
        let got: Vec<(String, bool)> = jobs(&index, &mut Vec::new())
            .into_iter()
            .map(|j| (j.name, j.automatic))
            .collect();
        // Started by hand: no trigger in the script, and not a Jenkinsfile.
        assert_eq!(got, [("Jenkins › Test".to_string(), false)]);
    }

    #[test]
    fn declarative_pipeline() {
        let index = RepoIndex::from_memory([("Jenkinsfile", DECLARATIVE), ("ml/train.py", "")]);
        let mut warnings = Vec::new();
        let specs = jobs(&index, &mut warnings);
        assert!(warnings.is_empty());
        let names: Vec<(&str, usize)> = specs.iter().map(|s| (s.name.as_str(), s.line)).collect();
        assert_eq!(
            names,
            [
                ("Jenkinsfile › Setup", 9),
                ("Jenkinsfile › Unit tests", 14),
                ("Jenkinsfile › Train", 24)
            ]
        );
        assert!(specs
            .iter()
            .all(|s| s.schedules == ["H 2 * * *"] && s.automatic && s.system == CiSystem::Jenkins));
        assert_eq!(
            specs[0].command_places(),
            [("pip install -r requirements.txt", 11, "")]
        );
        assert_eq!(
            specs[1].command_places(),
            [
                (
                    "pytest tests/unit --junitxml=${env.WORKSPACE}/report.xml",
                    16,
                    ""
                ),
                ("python -m pytest tests/data", 17, ""),
                ("python -m pipeline.validate", 18, ""),
                ("make lint", 20, ""),
            ]
        );
        assert_eq!(
            specs[2].command_places(),
            [
                ("python train.py --epochs 1", 28, "ml"),
                ("make evaluate", 30, "ml"),
                ("echo done", 33, "")
            ]
        );
    }

    const SCRIPTED: &str = r#"properties([pipelineTriggers([cron('''H 3 * * 1-5
H 12 * * 6''')])])
node('gpu') {
    checkout scm
    sh "./scripts/setup.sh"
    stage('Build') {
        sh """
            make build
        """
    }
    stage 'Test'
    sh 'pytest'
    load 'steps.groovy'
}
"#;

    #[test]
    fn scripted_pipeline_with_load() {
        let index = RepoIndex::from_memory([
            ("ci/Jenkinsfile", SCRIPTED),
            (
                "ci/steps.groovy",
                "def call() {\n  sh 'bash deploy/run.sh'\n}\nreturn this\n",
            ),
        ]);
        let mut warnings = Vec::new();
        let specs = jobs(&index, &mut warnings);
        // `load` is relative to the workspace root, not the Jenkinsfile.
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].line, Some(13));
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "ci/Jenkinsfile",
                "ci/Jenkinsfile › Build",
                "ci/Jenkinsfile › Test"
            ]
        );
        assert_eq!(specs[0].schedules, ["H 3 * * 1-5", "H 12 * * 6"]);
        assert_eq!(specs[0].command_places(), [("./scripts/setup.sh", 5, "")]);
        assert_eq!(specs[1].command_places(), [("make build", 8, "")]);
        assert_eq!(specs[2].command_places(), [("pytest", 12, "")]);

        let index = RepoIndex::from_memory([
            (
                "Jenkinsfile",
                "node { stage('X') { load 'ci/steps.groovy' } }",
            ),
            (
                "ci/steps.groovy",
                "sh 'bash deploy/run.sh'\nload 'ci/steps.groovy'\n",
            ),
        ]);
        let specs = jobs(&index, &mut warnings);
        assert_eq!(specs.len(), 1);
        let loaded = &specs[0].commands[0];
        assert_eq!(
            (
                loaded.text.as_str(),
                loaded.file.as_str(),
                loaded.line,
                loaded.depth
            ),
            ("bash deploy/run.sh", "ci/steps.groovy", 1, 1)
        );
    }

    #[test]
    fn remaining_call_forms() {
        let text = "pipeline {\n  triggers { cron 'H 4 * * *' }\n  stages {\n    stage(name: 'Checks') {\n      steps {\n        sh script: 'make lint'\n        sh(\"pytest tests\")\n        powershell 'Invoke-Pester'\n        echo env.sh\n      }\n    }\n  }\n}\n";
        let index = RepoIndex::from_memory([("Jenkinsfile.nightly", text)]);
        let specs = jobs(&index, &mut Vec::new());
        assert_eq!(specs.len(), 1);
        assert_eq!(
            (specs[0].name.as_str(), specs[0].line),
            ("Jenkinsfile.nightly › Checks", 4)
        );
        assert_eq!(specs[0].schedules, ["H 4 * * *"]);
        assert_eq!(
            specs[0].command_places(),
            [
                ("make lint", 6, ""),
                ("pytest tests", 7, ""),
                ("Invoke-Pester", 8, "")
            ]
        );
    }

    #[test]
    fn odd_input_never_panics() {
        let mut warnings = Vec::new();
        for text in [
            "sh",
            "sh(",
            "stage(",
            "stage('x') {",
            "}}}}",
            "sh script:",
            "cron",
            "dir('a'",
            "sh label: 'x',",
        ] {
            let index = RepoIndex::from_memory([("Jenkinsfile", text)]);
            let _ = jobs(&index, &mut warnings);
        }
    }
}
