#!/usr/bin/env python3
"""Generates the real-shaped repositories of benches/check_shapes.sh.

    gen_repos.py notebooks DIR [COPIES]   40 notebooks (0.2-4 MB, image/HTML/text
                                          outputs, long lines) + 300 .py, COPIES times
    gen_repos.py monorepo DIR             50,000 files, deep folders, many workflows
                                          and Makefiles
    gen_repos.py hostile DIR              pathological files: a 50 MB one-line file,
                                          millions of short lines, minified JSON,
                                          CJK/emoji text, binary named .py

Everything is seeded: the same command writes the same bytes.
"""

import base64
import json
import os
import random
import shutil
import sys

CODE_LINES = [
    "import numpy as np",
    "import pandas as pd",
    "from sklearn.model_selection import train_test_split",
    "from sklearn.ensemble import RandomForestClassifier",
    "from sklearn.metrics import accuracy_score, roc_auc_score",
    "import matplotlib.pyplot as plt",
    "df = pd.read_csv('data/train.csv')",
    "df = df.dropna(subset=['label'])",
    "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)",
    "model = RandomForestClassifier(n_estimators=200, max_depth=8)",
    "model.fit(X_train, y_train)",
    "pred = model.predict_proba(X_test)[:, 1]",
    "print('auc', roc_auc_score(y_test, pred))",
    "fig, ax = plt.subplots(figsize=(12, 6))",
    "ax.plot(history['loss'], label='train loss')",
    "for epoch in range(10):",
    "    optimizer.zero_grad()",
    "    loss = criterion(model(xb), yb)",
    "    loss.backward()",
    "df.groupby('segment').agg({'revenue': 'sum', 'users': 'nunique'})",
    "sns.heatmap(corr, annot=True, cmap='viridis')",
    "np.random.seed(0)",
    "importances = model.feature_importances_",
    "# Look at the distribution of the target before modelling",
    "display(df.describe().T)",
    "results[name] = cross_val_score(clf, X, y, cv=5).mean()",
]
MARKDOWN_LINES = [
    "## Exploratory analysis",
    "We first look at the raw data, then train a baseline and a forest.",
    "The model's accuracy on the holdout set is reported below.",
    "### Feature engineering",
    "Données d'entraînement: 学习数据 and 😀 emoji survive the round trip.",
]


def code_cell(rng, size_hint):
    lines = [rng.choice(CODE_LINES) for _ in range(rng.randint(3, 25))]
    if rng.random() < 0.1:
        # A long literal: a pasted list of values.
        lines.append("values = [" + ", ".join(str(rng.random()) for _ in range(400)) + "]")
    source = [line + "\n" for line in lines]
    source[-1] = source[-1].rstrip("\n")
    outputs = []
    r = rng.random()
    if r < 0.35:
        text = "".join(f"epoch {i}: loss={rng.random():.4f} acc={rng.random():.4f}\n" for i in range(rng.randint(5, 60)))
        outputs.append({"name": "stdout", "output_type": "stream", "text": text.splitlines(True)})
    elif r < 0.65:
        png = base64.b64encode(rng.randbytes(rng.randint(size_hint // 8, size_hint // 3))).decode()
        outputs.append({
            "data": {"image/png": png + "\n", "text/plain": ["<Figure size 1200x600 with 1 Axes>"]},
            "metadata": {"needs_background": "light"},
            "output_type": "display_data",
        })
    elif r < 0.9:
        rows = "".join(
            f"<tr><th>{i}</th><td>{rng.random():.3f}</td><td>model_{i}</td><td>{rng.randint(0, 10**6)}</td></tr>"
            for i in range(rng.randint(50, 600))
        )
        html = f'<div><table border="1" class="dataframe"><thead><tr><th></th><th>score</th><th>name</th><th>n</th></tr></thead><tbody>{rows}</tbody></table></div>'
        outputs.append({
            "data": {"text/html": [html], "text/plain": ["      score   name  n\n", "0     0.12 ..."]},
            "execution_count": 3,
            "metadata": {},
            "output_type": "execute_result",
        })
    return {
        "cell_type": "code",
        "execution_count": rng.randint(1, 200),
        "metadata": {},
        "outputs": outputs,
        "source": source,
    }


def notebook(rng, target):
    cells = []
    size = 0
    while size < target:
        if rng.random() < 0.25:
            lines = [rng.choice(MARKDOWN_LINES) + "\n" for _ in range(rng.randint(1, 5))]
            cell = {"cell_type": "markdown", "metadata": {}, "source": lines}
        else:
            cell = code_cell(rng, max(20_000, target // 8))
        cells.append(cell)
        size += len(json.dumps(cell))
    nb = {
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def write(root, path, text):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    mode = "wb" if isinstance(text, bytes) else "w"
    with open(full, mode) as f:
        f.write(text)


def ci_files(root):
    write(root, ".github/workflows/ci.yml", "on: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: pip install -r requirements.txt\n      - run: pytest tests\n")
    write(root, "requirements.txt", "numpy==2.0.0\npandas==2.2.2\nscikit-learn==1.5.0\nmatplotlib==3.9.0\n")


def gen_notebooks(root, copies):
    ci_files(root)
    prefix = "part00/" if copies > 1 else ""
    rng = random.Random(11)
    for i in range(40):
        # Log-uniform between 0.2 and 4 MB, as real notebooks with outputs are.
        target = int(200_000 * (20 ** rng.random()))
        write(root, f"{prefix}notebooks/{i:02d}_analysis.ipynb", notebook(rng, target))
    for i in range(300):
        body = "\n".join(rng.choice(CODE_LINES) for _ in range(rng.randint(20, 200))) + "\n"
        folder = ["src/pipeline", "src/features", "src/models", "tests", "scripts"][i % 5]
        name = f"test_mod_{i}.py" if folder == "tests" else f"mod_{i}.py"
        write(root, f"{prefix}{folder}/{name}", body)
    # The other copies are the same set, byte for byte.
    for copy in range(1, copies):
        shutil.copytree(os.path.join(root, "part00"), os.path.join(root, f"part{copy:02d}"))


def gen_monorepo(root):
    rng = random.Random(5)
    ci_files(root)
    teams = [f"team{t}" for t in range(25)]
    for w in range(120):
        team = teams[w % len(teams)]
        cron = "\n  schedule:\n    - cron: '0 4 * * *'" if w % 10 == 0 else ""
        write(root, f".github/workflows/{team}-{w}.yml",
              f"name: {team} {w}\non:\n  push:\n    paths: ['services/{team}/**']{cron}\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: make -C services/{team}/svc{w % 8} test\n      - run: python -m pytest services/{team}/svc{w % 8}/tests -q\n")
    count = 121 + 1
    for m in range(400):
        team = teams[m % len(teams)]
        write(root, f"services/{team}/svc{m % 8}/Makefile" if m < 200 else f"services/{team}/svc{m % 8}/lib{m}/Makefile",
              "test:\n\tpytest tests\n\nlint:\n\truff check .\n\ntrain:\n\tpython train.py --config conf/train.yaml\n")
        count += 1
    i = 0
    while count < 50_000:
        team = teams[i % len(teams)]
        depth = rng.randint(2, 9)
        folders = "/".join(f"d{rng.randint(0, 6)}" for _ in range(depth))
        kind = rng.random()
        if kind < 0.55:
            path = f"services/{team}/svc{i % 8}/{folders}/m{i}.py"
            body = "\n".join(rng.choice(CODE_LINES) for _ in range(rng.randint(5, 80))) + "\n"
        elif kind < 0.7:
            path = f"services/{team}/svc{i % 8}/tests/{folders}/test_m{i}.py"
            body = "def test_it():\n    assert f(1) == 2\n"
        elif kind < 0.8:
            path = f"services/{team}/svc{i % 8}/conf/{folders}/c{i}.yaml"
            body = f"model:\n  name: m{i}\n  lr: 0.01\n  layers: [64, 32]\n"
        elif kind < 0.9:
            path = f"docs/{team}/{folders}/p{i}.md"
            body = f"# Page {i}\n\nHow the {team} service trains and serves its model.\n"
        else:
            path = f"services/{team}/svc{i % 8}/data/{folders}/d{i}.json"
            body = json.dumps({"id": i, "values": [rng.random() for _ in range(20)]})
        write(root, path, body)
        count += 1
        i += 1


def gen_hostile(root):
    rng = random.Random(3)
    ci_files(root)
    # scan.max_file_size raised so that mlscore reads the large files too.
    write(root, "mlscore.yaml", "version: 1\nscan:\n  max_file_size: 200MiB\n")
    chunk = "x = model.fit(X, y); " * 50 + "value = 'é' * 3; "
    write(root, "src/one_line.py", (chunk * (50_000_000 // len(chunk)))[:50_000_000])
    write(root, "src/short_lines.py", "a = 1\n" * 3_000_000)
    write(root, "data/minified.json", json.dumps([{"id": i, "label": "model", "auc": rng.random()} for i in range(400_000)], separators=(",", ":")))
    write(root, "docs/cjk.md", ("模型训练和评估 😀🚀 データ検証 모델 배포 " * 20 + "\n") * 40_000)
    write(root, "src/binary.py", rng.randbytes(20_000_000))


def main():
    kind, root = sys.argv[1], sys.argv[2]
    if os.path.exists(os.path.join(root, ".generated")):
        return
    os.makedirs(root, exist_ok=True)
    if kind == "notebooks":
        gen_notebooks(root, int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    elif kind == "monorepo":
        gen_monorepo(root)
    elif kind == "hostile":
        gen_hostile(root)
    else:
        sys.exit(f"unknown kind {kind}")
    open(os.path.join(root, ".generated"), "w").close()


if __name__ == "__main__":
    main()
