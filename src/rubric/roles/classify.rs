//! What a Python file does, from its imports, calls and names: the roles of
//! [`Role`], each with the line that shows it. Patterns run over logical lines
//! with strings blanked (so a word in a message is not a call), except the few
//! that read string arguments (script names, shell commands in `subprocess`).

use std::sync::LazyLock;

use super::Role;
use crate::rubric::pylines::LogicalLine;
use crate::text::pattern_set::PatternSet;

/// One role shown by one line of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleHit {
    pub role: Role,
    pub line: usize,
    pub excerpt: String,
}

/// A role pattern, with ASCII classes and word boundaries: the patterns are
/// written for Python identifiers, and a Unicode `\b` makes the lazy DFA
/// give up on the first non-ASCII byte (a comment or string in any
/// language), leaving the rest of the file to an engine tens of times
/// slower. Compiled over bytes, where `.` may match any byte but a newline
/// (a `str` pattern without Unicode cannot hold a `.`, and those patterns
/// once fell back to Unicode whole); matches of the patterns that give
/// text back start and end on ASCII bytes, so on character boundaries.
pub(super) struct Pattern(regex::bytes::Regex);

impl Pattern {
    pub(super) fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text.as_bytes())
    }

    /// The text of each match.
    pub(super) fn find_iter<'t>(&'t self, text: &'t str) -> impl Iterator<Item = &'t str> + 't {
        self.0
            .find_iter(text.as_bytes())
            .filter_map(move |m| text.get(m.range()))
    }

    /// The text of the first group of the first match.
    fn first_group<'t>(&self, text: &'t str) -> Option<&'t str> {
        let group = self.0.captures(text.as_bytes())?.get(1)?;
        text.get(group.range())
    }

    fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

fn re(pattern: &str) -> Pattern {
    Pattern(
        regex::bytes::RegexBuilder::new(pattern)
            .unicode(false)
            .build()
            .expect("valid role regex"),
    )
}

/// A model being fitted: `.fit(`, `train(`, `trainer.train(`, Keras/Lightning loops.
static FIT: LazyLock<Pattern> = LazyLock::new(|| {
    re(
        r"\.(fit|fit_generator|train_on_batch)\s*\(|\btrainer\.(train|fit)\s*\(|\b(train|train_model|fit_model|run_training)\s*\(|\bxgb\.train\s*\(|\blgb\.train\s*\(",
    )
});
/// A trained model being written out.
static SAVE: LazyLock<Pattern> = LazyLock::new(|| {
    re(
        r"\b(joblib|pickle|dill|cloudpickle)\.dump\s*\(|\btorch\.(save|jit\.save)\s*\(|\.(save|save_model|save_pretrained|save_weights|export_model)\s*\(|\bmlflow\.\w+\.(log_model|save_model)\s*\(|\b(log_model|save_model|dump)\s*\(|\bonnx\.save\w*\s*\(",
    )
});
/// Metrics of a model.
static METRIC: LazyLock<Pattern> = LazyLock::new(|| {
    re(
        r"\b(roc_auc_score|accuracy_score|f1_score|precision_score|recall_score|mean_squared_error|root_mean_squared_error|mean_absolute_error|mean_absolute_percentage_error|r2_score|log_loss|classification_report|confusion_matrix|average_precision_score|balanced_accuracy_score|precision_recall_fscore_support|explained_variance_score|median_absolute_error|jaccard_score|matthews_corrcoef|ndcg_score|top_k_accuracy_score|evaluate|evaluate_model|compute_metrics|ap_per_class\w*|mean_average_precision|MeanAveragePrecision|COCOeval|corpus_bleu|sentence_bleu)\s*\(|\.evaluate\s*\(|\bevaluate\.load\s*\(|\btorchmetrics\.",
    )
});
/// Data the model was not trained on.
static HELD_OUT: LazyLock<Pattern> = LazyLock::new(|| {
    re(
        r"(?i)\b(x|y|df|data|dataset|ds|features|labels)_?(test|val|valid|validation|holdout|eval)\b|\b(test|val|valid|validation|holdout|eval)_?(x|y|df|data|dataset|set|ds|loader|dataloader|split|features|labels|generator)\b|\b(train_test_split|holdout|test_size|validation_split|validation_data)\b",
    )
});
/// A metric compared with a bound in a branch or an assertion.
static GATE_LINE: LazyLock<Pattern> = LazyLock::new(|| re(r"^(if|elif|assert|while)\b.*(<=?|>=?)"));
static METRIC_WORDS: &[&str] = &[
    "acc",
    "accuracy",
    "auc",
    "roc",
    "f1",
    "rmse",
    "mse",
    "mae",
    "mape",
    "r2",
    "precision",
    "recall",
    "ndcg",
    "logloss",
    "metric",
    "metrics",
];
/// Identifiers in code (ASCII, as Python source mostly is).
pub(super) static IDENT: LazyLock<Pattern> = LazyLock::new(|| re(r"\b[A-Za-z_]\w*"));
/// Gates of pipeline frameworks and validation libraries.
static GATE_CALL: LazyLock<Pattern> = LazyLock::new(|| {
    re(
        r"\b(ConditionStep|ConditionGreaterThan\w*|ConditionLessThan\w*|ConditionEquals|MetricThreshold|GenericValueThreshold|GenericChangeThreshold|BranchPythonOperator|ShortCircuitOperator)\s*\(|\bdsl\.(Condition|If)\s*\(|\bvalidate_evaluation_results\s*\(|\bvalidation_thresholds\s*=",
    )
});
/// A model registered, deployed or pushed from Python.
static DEPLOY_CALL: LazyLock<Pattern> = LazyLock::new(|| {
    re(
        r"\b(mlflow\.)?register_model\s*\(|\b\w*[Mm]odel\w*\.register\s*\(|\b(transition_model_version_stage|set_registered_model_alias|create_endpoint|update_endpoint|upload_model|deploy_model|push_model|promote_model)\s*\(|\.deploy\s*\(|\bModel\.upload\s*\(|\b(Pusher|RegisterModel|ModelStep|ModelDeployOp|ModelUploadOp|EndpointCreateOp|ManagedOnlineDeployment)\s*\(",
    )
});
/// A deployment command in a string (`subprocess.run("kubectl apply …")`).
pub(super) static DEPLOY_COMMAND: LazyLock<Pattern> = LazyLock::new(|| {
    re(
        r"\bkubectl\s+(apply|set\s+image|rollout\s+restart|create)\b|\bhelm\s+(upgrade|install)\b|\baz\s+ml\s+(online-deployment|online-endpoint|batch-deployment|batch-endpoint|model)\s+(create|update)\b|\bgcloud\s+(ai\s+(endpoints\s+deploy-model|models\s+upload)|run\s+deploy|functions\s+deploy|app\s+deploy)\b|\baws\s+sagemaker\s+(create|update)-endpoint\b|\b(sam|serverless|sls|modal|bentoml)\s+deploy\b|\bmlflow\s+deployments\s+(create|update)\b|\bdocker\s+push\b",
    )
});
/// Steps of a pipeline definition, named by their component or task.
static STEP_TRAIN: LazyLock<Pattern> = LazyLock::new(|| {
    re(
        r#"\b(Trainer|TrainingStep|TuningStep)\s*\(|\btrain\w*_(op|step|task|component)\b|\btask_id\s*=\s*["']\w*train|^train\w*\s*=\s*[\w.\[\]]+\("#,
    )
});
static STEP_EVALUATE: LazyLock<Pattern> = LazyLock::new(|| {
    re(
        r#"\bEvaluator\s*\(|\bevaluat\w*_(op|step|task|component)\b|\btask_id\s*=\s*["']\w*evaluat|^(evaluat|score)\w*\s*=\s*[\w.\[\]]+\("#,
    )
});
static STEP_DEPLOY: LazyLock<Pattern> = LazyLock::new(|| {
    re(
        r#"\b(deploy|register|push|promote)\w*_(op|step|task|component)\b|\btask_id\s*=\s*["']\w*(deploy|register|push|promote)"#,
    )
});
/// Model definitions.
static MODEL: LazyLock<Pattern> = LazyLock::new(|| {
    re(
        r"^class\s+\w+\s*\(.*\b(nn\.Module|torch\.nn\.Module|keras\.Model|keras\.models\.Model|LightningModule|BaseEstimator|ClassifierMixin|RegressorMixin|PreTrainedModel|tf\.Module)\b|^def\s+(build|create|get|make|define|init)_\w*model\w*\s*\(|\b(keras|tf\.keras|nn)\.Sequential\s*\(|\b(\w+Classifier|\w+Regressor|LogisticRegression|LinearRegression|Lasso|Ridge|ElasticNet|SVC|SVR|KMeans|XGB\w+|LGBM\w+|CatBoost\w+)\s*\(",
    )
});
/// Feature code by content: transformers and encoders.
static FEATURE: LazyLock<Pattern> = LazyLock::new(|| {
    re(
        r"^class\s+\w+\s*\(.*\bTransformerMixin\b|\b(ColumnTransformer|OneHotEncoder|OrdinalEncoder|LabelEncoder|StandardScaler|MinMaxScaler|RobustScaler|SimpleImputer|KBinsDiscretizer|FunctionTransformer|TfidfVectorizer|CountVectorizer)\s*\(|^def\s+preprocessing_fn\s*\(",
    )
});
/// Feature code by name.
static FEATURE_NAME: LazyLock<Pattern> = LazyLock::new(|| {
    re(r"(?i)(feature|preprocess|featuriz|transform|encod|clean|prepar|processing|processor)")
});
static FEATURE_DEF: LazyLock<Pattern> = LazyLock::new(|| {
    re(
        r"^def\s+(\w*_)?(features?|preprocess\w*|clean_\w+|transform\w*|encode_\w+|featuriz\w*|tokeniz\w*|normaliz\w*|impute\w*|bucket\w*|engineer\w*)\s*\(",
    )
});
static DEFINES: LazyLock<Pattern> = LazyLock::new(|| re(r"^(def|class)\s+\w+"));

/// Modules whose import makes a file serving code.
const SERVING_MODULES: &[&str] = &[
    "fastapi",
    "flask",
    "bentoml",
    "kserve",
    "seldon_core",
    "ray.serve",
    "litserve",
    "mlserver",
    "sanic",
];
/// Modules whose import makes a file an ML pipeline definition.
pub(super) const PIPELINE_MODULES: &[&str] = &[
    "kfp",
    "tfx",
    "sagemaker.workflow",
    "azureml.pipeline",
    "azure.ai.ml.dsl",
    "airflow",
    "prefect",
    "dagster",
    "zenml",
    "metaflow",
    "kedro",
    "google.cloud.aiplatform",
];

/// A dotted component of each module of [`SERVING_MODULES`] and
/// [`PIPELINE_MODULES`], the rarest in ordinary code. Every component of an
/// import's module is a piece of the file's text (`from ray import serve`
/// is `ray.serve`), so a file holding none of these words imports none of
/// those modules, and its imports need not be read for them: most files of
/// a large tree are neither serving code nor pipelines.
const ROLE_MODULE_WORDS: &[&str] = &[
    "fastapi",
    "flask",
    "bentoml",
    "kserve",
    "seldon_core",
    "serve",
    "litserve",
    "mlserver",
    "sanic",
    "kfp",
    "tfx",
    "sagemaker",
    "azureml",
    "dsl",
    "airflow",
    "prefect",
    "dagster",
    "zenml",
    "metaflow",
    "kedro",
    "aiplatform",
];

/// Searched in short import lines only (see
/// [`crate::rubric::python::import_lines_hold`]), where a vectorised
/// search's setup cost more than stepping a DFA through the line.
static ROLE_MODULE_FINDER: LazyLock<aho_corasick::AhoCorasick> =
    LazyLock::new(|| crate::rubric::python::line_searcher(ROLE_MODULE_WORDS));

/// Whether `text` may import a serving or pipeline module (see
/// [`ROLE_MODULE_WORDS`]); when not, [`classify`] needs none of its imports.
fn may_import_role_modules(text: &str) -> bool {
    crate::rubric::python::import_lines_hold(text, &ROLE_MODULE_FINDER)
}

/// Whether a file's name says it evaluates a model: `evaluate.py`,
/// `model_eval.py`, or validation spelled as a word of the name (`val.py`,
/// `validate_model.py`, the validation scripts of detection repositories,
/// which score on the validation split without naming it in code), never
/// inside another word (`values.py`, `interval.py`).
fn names_an_evaluation(name: &str) -> bool {
    let stem = name.strip_suffix(".py").unwrap_or(name);
    crate::text::find::contains(stem, "eval")
        || stem
            .split(['_', '-', '.'])
            .any(|word| matches!(word, "val" | "valid" | "validate" | "validation"))
}

/// Whether a logical line compares a metric with a bound in a branch.
fn is_gate_line(code: &str) -> bool {
    if !GATE_LINE.is_match(code) {
        return false;
    }
    IDENT.find_iter(code).any(|word| {
        word.to_ascii_lowercase()
            .split('_')
            .any(|part| METRIC_WORDS.contains(&part))
    })
}

/// The per-line code patterns, in [`CODE_SET`] order.
const SAVE_I: usize = 0;
const HELD_OUT_I: usize = 1;
const FIT_I: usize = 2;
const METRIC_I: usize = 3;
const GATE_CALL_I: usize = 4;
const DEPLOY_CALL_I: usize = 5;
const MODEL_I: usize = 6;
const FEATURE_I: usize = 7;
const FEATURE_DEF_I: usize = 8;
const GATE_LINE_I: usize = 9;

/// The same patterns as one set, walked once over a file's code lines
/// joined by newlines: a pattern the set does not report matches no line,
/// and is not run line by line. Most files hold a few of the nine; running
/// each on every line was a third of role classification on a
/// 100,000-file repository.
static CODE_SET: LazyLock<PatternSet> = LazyLock::new(|| {
    let patterns = [
        &*SAVE,
        &*HELD_OUT,
        &*FIT,
        &*METRIC,
        &*GATE_CALL,
        &*DEPLOY_CALL,
        &*MODEL,
        &*FEATURE,
        &*FEATURE_DEF,
        &*GATE_LINE,
    ]
    .map(|re| re.as_str());
    PatternSet::for_lines(&patterns).expect("valid role regex set")
});

/// Compiles the patterns now. The first file to need one would otherwise
/// compile it in the middle of the parallel pass, and every other core that
/// reaches the pattern meanwhile waits for it.
pub fn prepare() {
    for re in [
        &FIT,
        &SAVE,
        &METRIC,
        &HELD_OUT,
        &GATE_LINE,
        &IDENT,
        &GATE_CALL,
        &DEPLOY_CALL,
        &DEPLOY_COMMAND,
        &STEP_TRAIN,
        &STEP_EVALUATE,
        &STEP_DEPLOY,
        &MODEL,
        &FEATURE,
        &FEATURE_NAME,
        &FEATURE_DEF,
        &DEFINES,
        &ASSIGNED,
    ] {
        LazyLock::force(re);
    }
    LazyLock::force(&CODE_SET);
    LazyLock::force(&ROLE_MODULE_FINDER);
}

thread_local! {
    /// The lines of the file being classified, joined: kept from file to
    /// file, where two strings made and freed for each of 80,000 files
    /// showed in a profile of a large repository.
    static JOINED: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// The largest joined copy kept between files.
const KEPT_JOINED: usize = 1 << 20;

/// `parts` one after another into `joined` (emptied first), a newline
/// between each two.
fn join_lines<'a>(joined: &mut String, parts: impl Iterator<Item = &'a str>) {
    joined.clear();
    for (i, part) in parts.enumerate() {
        if i > 0 {
            joined.push('\n');
        }
        joined.push_str(part);
    }
}

/// The roles of one non-test Python file, `text`, split into `lines`.
pub fn classify(path: &str, text: &str, lines: &[LogicalLine]) -> Vec<RoleHit> {
    // Imports are read only for serving and pipeline modules.
    let imports = if may_import_role_modules(text) {
        crate::rubric::python::imports(text)
    } else {
        Vec::new()
    };
    let mut hits = Vec::new();
    let hit = |role: Role, line: &LogicalLine| RoleHit {
        role,
        line: line.line,
        excerpt: shorten(&line.text),
    };
    let imported = |list: &[&str]| {
        imports.iter().find(|i| {
            list.iter()
                .any(|m| crate::rubric::python::matches(&i.module, m))
        })
    };
    let is_pipeline = imported(PIPELINE_MODULES).is_some();
    let code_lines = || lines.iter().filter(|l| !l.is_import());

    // Which patterns are worth running line by line ([`CODE_SET`] over the
    // code), and whether any line may run a deploy command (over the text,
    // strings kept): joined, the lines can only match more (`\s+` may reach
    // across a line's end), never less.
    let (may, may_run_command) = JOINED.with_borrow_mut(|joined| {
        join_lines(joined, lines.iter().map(LogicalLine::code));
        let mut may = 0u64;
        if !CODE_SET.each_match(joined.as_bytes(), |i| may |= 1 << i) {
            may = u64::MAX;
        }
        join_lines(joined, lines.iter().map(|l| l.text.as_str()));
        let may_run_command = DEPLOY_COMMAND.is_match(joined);
        // A huge file's copy is not kept for the small ones after it.
        if joined.capacity() > KEPT_JOINED {
            *joined = String::new();
        }
        (may, may_run_command)
    });
    let can = |pattern: usize| may & (1 << pattern) != 0;
    // Training is a fit beside a save. Each side is looked for only when
    // the other can hold: most files hold neither.
    let fits = can(FIT_I) && can(SAVE_I) && lines.iter().any(|l| SAVE.is_match(l.code()));
    // An evaluation script says what it is in its name; elsewhere metrics
    // count only beside held-out data (not accuracy on the training set).
    let name = crate::text::path::file_name(path);
    let metrics = can(METRIC_I)
        && (names_an_evaluation(name)
            || (can(HELD_OUT_I) && lines.iter().any(|l| HELD_OUT.is_match(l.code()))));
    for line in code_lines() {
        let code = line.code();
        let is_def = code.starts_with("def ")
            || code.starts_with("async def ")
            || code.starts_with("class ");
        if fits && !is_def && FIT.is_match(code) {
            hits.push(hit(Role::Training, line));
        }
        if metrics && !is_def && METRIC.is_match(code) {
            hits.push(hit(Role::Evaluation, line));
        }
        if (can(GATE_LINE_I) && is_gate_line(code))
            || (can(GATE_CALL_I) && GATE_CALL.is_match(code))
        {
            hits.push(hit(Role::EvaluationGate, line));
        }
        if (can(DEPLOY_CALL_I) && DEPLOY_CALL.is_match(code))
            || (may_run_command && DEPLOY_COMMAND.is_match(&line.text))
        {
            hits.push(hit(Role::Deploy, line));
        }
        if can(MODEL_I) && MODEL.is_match(code) {
            hits.push(hit(Role::Model, line));
        }
        if can(FEATURE_I) && FEATURE.is_match(code) {
            hits.push(hit(Role::Feature, line));
        }
        if is_pipeline {
            for (role, step) in [
                (Role::Training, &*STEP_TRAIN),
                (Role::Evaluation, &*STEP_EVALUATE),
                (Role::Deploy, &*STEP_DEPLOY),
            ] {
                if step.is_match(&line.text)
                    && !hits.iter().any(|h| h.role == role && h.line == line.line)
                {
                    hits.push(hit(role, line));
                }
            }
        }
    }
    if is_pipeline {
        hits.extend(gated_steps(lines, &hits));
    }
    // Encoders inside a model's own pipeline (`make_pipeline(StandardScaler(),
    // LogisticRegression())`) are part of the model definition.
    if hits.iter().any(|h| h.role == Role::Model) {
        hits.retain(|h| h.role != Role::Feature);
    }
    // Functions named for what they do to data (`def prepare_features`,
    // `def clean_text`) are feature code wherever they live.
    if let Some(def) = lines
        .iter()
        .find(|l| can(FEATURE_DEF_I) && FEATURE_DEF.is_match(l.code()))
    {
        hits.push(hit(Role::Feature, def));
    }
    // The file's own name, not its folder: `processing/data_management.py`
    // loads data, it does not build features.
    if !hits.iter().any(|h| h.role == Role::Feature) && FEATURE_NAME.is_match(name) {
        // A module named like feature code that defines nothing (`prepare.py`
        // as a script, a `feature_flags.py` of constants) is not feature code.
        if let Some(def) = lines.iter().find(|l| DEFINES.is_match(l.code())) {
            hits.push(hit(Role::Feature, def));
        }
    }
    if let Some(import) = imported(SERVING_MODULES) {
        hits.push(RoleHit {
            role: Role::Serving,
            line: import.line,
            excerpt: format!("import {}", import.module),
        });
    }
    if let Some(import) = imported(PIPELINE_MODULES) {
        hits.push(RoleHit {
            role: Role::Pipeline,
            line: import.line,
            excerpt: format!("import {}", import.module),
        });
    }
    hits.sort_by_key(|h| (h.line, h.role));
    hits
}

static ASSIGNED: LazyLock<Pattern> = LazyLock::new(|| re(r"^([A-Za-z_]\w*)\s*="));

/// Pipeline steps are often built first and gated later
/// (`register = RegisterModel(…)` … `ConditionStep(…, if_steps=[register])`):
/// a deploy step named by a later gate also counts at the gate's line.
fn gated_steps(lines: &[LogicalLine], hits: &[RoleHit]) -> Vec<RoleHit> {
    let mut extra = Vec::new();
    for deploy in hits.iter().filter(|h| h.role == Role::Deploy) {
        let Some(line) = lines.iter().find(|l| l.line == deploy.line) else {
            continue;
        };
        let Some(name) = ASSIGNED.first_group(line.code()) else {
            continue;
        };
        for gate in hits
            .iter()
            .filter(|h| h.role == Role::EvaluationGate && h.line > deploy.line)
        {
            let Some(gate_line) = lines.iter().find(|l| l.line == gate.line) else {
                continue;
            };
            if IDENT.find_iter(gate_line.code()).any(|word| word == name) {
                extra.push(RoleHit {
                    role: Role::Deploy,
                    line: gate.line,
                    excerpt: deploy.excerpt.clone(),
                });
            }
        }
    }
    extra
}

/// Shortens a line for display, on a character boundary.
pub(super) fn shorten(text: &str) -> String {
    const MAX: usize = 120;
    let text = text.trim();
    if text.chars().count() <= MAX {
        return text.to_string();
    }
    let cut: String = text.chars().take(MAX - 1).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rubric::pylines::logical_lines;

    /// The words that decide whether a file's imports are read name a
    /// component of every serving and pipeline module, and a file importing
    /// one (in any form) holds one of them.
    #[test]
    fn role_module_words_cover_every_role_module() {
        for module in SERVING_MODULES.iter().chain(PIPELINE_MODULES) {
            assert!(
                module
                    .split('.')
                    .any(|part| ROLE_MODULE_WORDS.contains(&part)),
                "{module}"
            );
            let (package, last) = module.rsplit_once('.').unwrap_or((module, module));
            for text in [
                format!("import {module}\n"),
                format!("from {module} import x\n"),
                format!("from {package} import {last}\n"),
            ] {
                assert!(may_import_role_modules(&text), "{text}");
            }
        }
        assert!(!may_import_role_modules(
            "import numpy as np\nimport pandas\n"
        ));
    }

    /// Every role pattern, those with a `.` included, compiles with ASCII
    /// classes and boundaries (no fallback to Unicode exists), and the
    /// patterns still find their roles in files full of non-ASCII text:
    /// comments, strings, a base class list that holds a non-ASCII name.
    /// (Identifiers are read as ASCII: a class named `Réseau` is not seen.)
    #[test]
    fn roles_are_found_among_non_ascii_text() {
        prepare();
        let text = "# 模型训练 — entraînement du modèle 🚀\nimport joblib\nfrom sklearn.ensemble import RandomForestClassifier\n\nclass Net(Basé, nn.Module):  # ネットワーク\n    pass\n\nmodel = RandomForestClassifier()  # forêt\nmodel.fit(X_train, y_train)\njoblib.dump(model, 'modèle.joblib')\naccuracy = accuracy_score(y_test, model.predict(X_test))\nif accuracy >= 0.9:  # précision ≥ 90 %\n    print('✓')\n";
        let found = roles("src/train.py", text);
        for (role, line) in [
            (Role::Model, 5),
            (Role::Training, 9),
            (Role::Evaluation, 11),
            (Role::EvaluationGate, 12),
        ] {
            assert!(
                found.contains(&(role, line)),
                "{role:?} at {line}: {found:?}"
            );
        }
    }

    fn roles(path: &str, text: &str) -> Vec<(Role, usize)> {
        classify(path, text, &logical_lines(text))
            .into_iter()
            .map(|h| (h.role, h.line))
            .collect()
    }

    #[test]
    fn training_needs_a_fit_and_a_save() {
        let train = "import joblib\nfrom sklearn.ensemble import RandomForestClassifier\n\nmodel = RandomForestClassifier(n_estimators=50)\nmodel.fit(X, y)\njoblib.dump(model, 'model.joblib')\n";
        let got = roles("src/train.py", train);
        assert!(got.contains(&(Role::Training, 5)), "{got:?}");
        assert!(got.contains(&(Role::Model, 4)), "{got:?}");
        let no_save = "scaler.fit(X)\nprint(scaler.mean_)\n";
        assert!(roles("src/explore.py", no_save).is_empty());
    }

    #[test]
    fn evaluation_needs_held_out_data_and_gates_need_a_metric_bound() {
        let text = "from sklearn.metrics import roc_auc_score\nauc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])\nif auc < MIN_AUC:\n    raise SystemExit('model too weak: ' + str(auc))\nmlflow.register_model(uri, 'churn')\n";
        let got = roles("src/evaluate.py", text);
        assert!(got.contains(&(Role::Evaluation, 2)), "{got:?}");
        assert!(got.contains(&(Role::EvaluationGate, 3)), "{got:?}");
        assert!(got.contains(&(Role::Deploy, 5)), "{got:?}");
        // A probability threshold in serving code is not a quality gate.
        let serve = "if proba > 0.5:\n    label = 'churn'\n";
        assert!(roles("app/serve.py", serve).is_empty());
        // A loss-based checkpoint choice is not a gate on model quality.
        assert!(roles(
            "train.py",
            "if losses['val'] < best_val_loss:\n    best = 1\n"
        )
        .is_empty());
    }

    /// A validation script named as one (`val.py`) scores held-out data
    /// without naming it; detection, ranking and translation metrics count
    /// as metrics. A name that only holds the letters (`interval.py`) or a
    /// metric word without a call does not make an evaluation.
    #[test]
    fn validation_scripts_and_task_metrics_make_evaluations() {
        let detection = "from utils.metrics import ap_per_class\n\ndef run(model, loader):\n    stats = collect(model, loader)\n    tp, fp, p, r, f1, ap, ap_class = ap_per_class(*stats, plot=False)\n    return ap.mean()\n";
        for name in [
            "val.py",
            "segment/val.py",
            "src/validate_model.py",
            "model-validation.py",
        ] {
            assert!(
                roles(name, detection).contains(&(Role::Evaluation, 5)),
                "{name}"
            );
        }
        for name in ["src/interval.py", "src/values.py", "src/run.py"] {
            assert!(roles(name, detection).is_empty(), "{name}");
        }
        for call in [
            "COCOeval(gt, dt, 'bbox')",
            "mean_average_precision(preds, target)",
            "MeanAveragePrecision(iou_type='bbox')",
            "corpus_bleu(references, hypotheses)",
            "top_k_accuracy_score(y_val, scores, k=5)",
            "ap_per_class_box_and_mask(*stats)",
        ] {
            let text = format!("result = {call}\n");
            assert_eq!(
                roles("src/evaluate.py", &text),
                vec![(Role::Evaluation, 1)],
                "{call}"
            );
        }
        // Naming a metric without calling it is no evaluation.
        assert!(roles("val.py", "ap_per_class = None\nCOCOeval = load()\n").is_empty());
    }

    #[test]
    fn feature_code_by_name_or_transformers() {
        assert_eq!(
            roles(
                "src/churn/features.py",
                "import pandas as pd\n\ndef add_tenure_bucket(df):\n    return df\n"
            ),
            vec![(Role::Feature, 3)]
        );
        assert_eq!(
            roles(
                "src/pipeline.py",
                "enc = OneHotEncoder(handle_unknown='ignore')\n"
            ),
            vec![(Role::Feature, 1)]
        );
        assert_eq!(
            roles(
                "src/predict.py",
                "def prepare_features(ride):\n    return ride\n"
            ),
            vec![(Role::Feature, 1)]
        );
        assert!(roles(
            "pkg/processing/data_management.py",
            "def load_dataset(path):\n    return read(path)\n"
        )
        .is_empty());
        // A feature flag module is named like feature code but defines nothing.
        assert!(roles("src/feature_flags.py", "ENABLED = True\n").is_empty());
    }

    #[test]
    fn pipeline_steps_are_read_in_pipeline_definitions_only() {
        let tfx = "from tfx import v1 as tfx\ntrainer = Trainer(module_file=m)\nevaluator = Evaluator(eval_config=cfg)\npusher = Pusher(model=trainer.outputs['model'])\n";
        let got = roles("pipelines/training_pipeline.py", tfx);
        for expected in [
            (Role::Training, 2),
            (Role::Evaluation, 3),
            (Role::Deploy, 4),
        ] {
            assert!(got.contains(&expected), "{got:?}");
        }
        // Steps named by the variables they are assigned to, whatever builds them.
        let azure = "from azure.ai.ml.dsl import pipeline\n\n@pipeline()\ndef flow(raw):\n    prep = steps[0](raw_data=raw)\n    train_with_sample = steps[2](training_data=prep.outputs.data)\n    score_with_sample = steps[4](model=train_with_sample.outputs.model)\n";
        let got = roles("mlops/pipeline.py", azure);
        assert!(got.contains(&(Role::Training, 6)), "{got:?}");
        assert!(got.contains(&(Role::Evaluation, 7)), "{got:?}");
        assert!(!roles("src/notes.py", "trainer = Trainer(module_file=m)\n")
            .iter()
            .any(|(r, _)| *r == Role::Training));
    }
}
