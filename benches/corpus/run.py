#!/usr/bin/env python3
"""Measure mlscore against the hand-scored corpus (issue 12).

For every benches/corpus/<owner>__<name>.yaml: materialize the repository at
the recorded commit into a fresh git repository in a temp dir, run
`mlscore check --format json --no-probes` on it, and compare mlscore's points
with the hand scores. Prints, per repository and in total: per-test agreement
(mlscore's points inside the hand range), final score hand vs mlscore, mean
absolute section error, and every disagreeing test with mlscore's evidence.

    python3 benches/corpus/run.py --mlscore target/release/mlscore \
        --clones /work/.mirror [--only owner__name] [--json]

--clones DIR holds one entry per repository named `owner+name`: a bare git
dir, a clone (work tree with .git), or a directory with a bare `repo/` inside
(the layout `fetch` leaves in /work/.mirror). Nothing from the repositories is
executed; only git and mlscore run. Always exits 0: this is a measurement.

Python 3 standard library only.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

SECTIONS = ["data", "model", "infra", "monitor"]
TEST_IDS = [f"{s}-{i}" for s in SECTIONS for i in range(1, 8)]
HERE = os.path.dirname(os.path.abspath(__file__))


# --------------------------------------------------------------------------
# A small reader for the corpus files' fixed shape (no PyYAML needed):
# top-level `key: scalar` / `key: [a, b]`, then `tests:` with one
# `  id: {score: x, range: [lo, hi], evidence: "..."}` line per test.


class CorpusError(Exception):
    pass


def _scalar(tok):
    tok = tok.strip()
    if tok.startswith('"'):
        return _dq(tok)[0]
    if tok.startswith("'") and tok.endswith("'") and len(tok) >= 2:
        return tok[1:-1].replace("''", "'")
    if tok in ("", "~", "null"):
        return None
    if tok in ("true", "false"):
        return tok == "true"
    try:
        return int(tok)
    except ValueError:
        pass
    try:
        return float(tok)
    except ValueError:
        return tok


def _dq(s):
    """Parse a double-quoted string at the start of s; return (value, rest)."""
    assert s[0] == '"'
    out, i = [], 1
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "/": "/", "r": "\r"}
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out.append(escapes.get(s[i + 1], s[i + 1]))
            i += 2
            continue
        if c == '"':
            return "".join(out), s[i + 1:]
        out.append(c)
        i += 1
    raise CorpusError("unterminated string")


def _flow(s):
    """Parse a flow collection ({...} or [...]) at the start of s."""
    s = s.lstrip()
    if s.startswith("["):
        items, s = [], s[1:]
        while True:
            s = s.lstrip()
            if s.startswith("]"):
                return items, s[1:]
            val, s = _flow_value(s, ",]")
            items.append(val)
            s = s.lstrip()
            if s.startswith(","):
                s = s[1:]
    if s.startswith("{"):
        m, s = {}, s[1:]
        while True:
            s = s.lstrip()
            if s.startswith("}"):
                return m, s[1:]
            colon = s.index(":")
            key = s[:colon].strip()
            val, s = _flow_value(s[colon + 1:], ",}")
            m[key] = val
            s = s.lstrip()
            if s.startswith(","):
                s = s[1:]
    raise CorpusError(f"expected a flow collection at {s[:30]!r}")


def _flow_value(s, stops):
    s = s.lstrip()
    if s[:1] in "[{":
        return _flow(s)
    if s.startswith('"'):
        return _dq(s)
    i = 0
    while i < len(s) and s[i] not in stops:
        i += 1
    return _scalar(s[:i]), s[i:]


def load_corpus_file(path):
    doc, tests, in_tests = {}, {}, False
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                if in_tests and line.startswith((" ", "\t")):
                    key, rest = line.strip().split(":", 1)
                    val, _ = _flow(rest)
                    tests[key.strip()] = val
                    continue
                in_tests = False
                key, rest = line.split(":", 1)
                key, rest = key.strip(), rest.strip()
                if key == "tests" and not rest:
                    in_tests = True
                elif rest.startswith(("[", "{")):
                    doc[key] = _flow(rest)[0]
                else:
                    # strip a trailing comment from unquoted scalars
                    if not rest.startswith(("'", '"')) and " #" in rest:
                        rest = rest.split(" #", 1)[0]
                    # a commit id stays text even when it looks numeric
                    doc[key] = rest.strip().strip('"\'') if key in ("repo", "commit") \
                        else _scalar(rest)
            except (ValueError, CorpusError) as e:
                raise CorpusError(f"{path}:{n}: cannot read line: {e}")
    doc["tests"] = tests
    missing = [t for t in TEST_IDS if t not in tests]
    if missing:
        raise CorpusError(f"{path}: missing tests {', '.join(missing)}")
    for t in TEST_IDS:
        v = tests[t]
        if not isinstance(v, dict) or "score" not in v or "range" not in v:
            raise CorpusError(f"{path}: {t} needs score and range")
        lo, hi = v["range"]
        v["range"] = [float(lo), float(hi)]
        v["score"] = float(v["score"])
    for k in ("repo", "commit"):
        if not doc.get(k):
            raise CorpusError(f"{path}: missing {k}")
    return doc


# --------------------------------------------------------------------------
# Git: find the repository, check the commit, materialize the tree.


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def find_git_dir(clones, repo):
    owner, name = repo.split("/", 1)
    base = os.path.join(clones, f"{owner}+{name}")
    for cand in (os.path.join(base, "repo"), os.path.join(base, ".git"), base,
                 os.path.join(base, "repo", ".git")):
        if os.path.isdir(cand) and os.path.exists(os.path.join(cand, "HEAD")) \
                and os.path.isdir(os.path.join(cand, "objects")):
            return cand
    return None


def has_commit(git_dir, commit):
    r = run(["git", "--git-dir", git_dir, "cat-file", "-e", f"{commit}^{{commit}}"])
    return r.returncode == 0


def materialize(git_dir, commit, dest):
    """Extract the tree at commit into dest and commit it in a fresh repo.

    Returns how many files could not be extracted (stored snapshots lack
    large and LFS blobs; `git archive` refuses such trees, so the tree is
    then written blob by blob, leaving the absent ones out)."""
    absent = 0
    archive = subprocess.Popen(["git", "--git-dir", git_dir, "archive", "--format=tar", commit],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tar = subprocess.run(["tar", "-x", "-C", dest], stdin=archive.stdout,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    archive.stdout.close()
    archive.stderr.read()
    if archive.wait() != 0 or tar.returncode != 0:
        for name in os.listdir(dest):
            p = os.path.join(dest, name)
            shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.unlink(p)
        absent = extract_blobwise(git_dir, commit, dest)
    env = dict(os.environ, GIT_AUTHOR_NAME="corpus", GIT_AUTHOR_EMAIL="corpus@localhost",
               GIT_COMMITTER_NAME="corpus", GIT_COMMITTER_EMAIL="corpus@localhost",
               GIT_CONFIG_NOSYSTEM="1")
    for cmd in (["git", "init", "-q", "."],
                ["git", "add", "-A", "-f", "."],
                ["git", "-c", "commit.gpgsign=false", "commit", "-q", "--allow-empty",
                 "--no-verify", "-m", f"corpus snapshot {commit}"]):
        r = run(cmd, cwd=dest, env=env)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.decode(errors='replace').strip()}")
    return absent


def extract_blobwise(git_dir, commit, dest):
    """Write every blob of commit's tree that the object store has."""
    r = run(["git", "--git-dir", git_dir, "ls-tree", "-r", "-z", "--full-tree", commit])
    if r.returncode != 0:
        raise RuntimeError(f"git ls-tree failed: {r.stderr.decode(errors='replace').strip()}")
    entries = []
    for rec in r.stdout.split(b"\0"):
        if not rec:
            continue
        meta, path = rec.split(b"\t", 1)
        mode, kind, sha = meta.split()
        if kind == b"blob":
            entries.append((mode.decode(), sha.decode(), path.decode("utf-8", "surrogateescape")))
    cat = subprocess.Popen(["git", "--git-dir", git_dir, "cat-file", "--batch"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    absent = 0
    root = os.path.realpath(dest)
    try:
        for mode, sha, path in entries:
            cat.stdin.write(sha.encode() + b"\n")
            cat.stdin.flush()
            header = cat.stdout.readline().split()
            if len(header) < 3 or header[1] != b"blob":
                absent += 1
                continue
            data = cat.stdout.read(int(header[2]))
            cat.stdout.read(1)  # the newline after each object
            target = os.path.realpath(os.path.join(dest, path))
            if not target.startswith(root + os.sep):
                continue  # never write outside the temp tree
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if mode == "120000":
                try:
                    os.symlink(data.decode("utf-8", "surrogateescape"), target)
                except OSError:
                    pass
                continue
            with open(target, "wb") as f:
                f.write(data)
            if mode == "100755":
                os.chmod(target, 0o755)
    finally:
        cat.stdin.close()
        cat.wait()
    return absent


# --------------------------------------------------------------------------
# mlscore


def run_mlscore(binary, tree, timeout):
    cmd = [binary, "check", "--format", "json", "--no-probes", tree]
    try:
        r = run(cmd, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"mlscore timed out after {timeout}s")
    out = r.stdout.decode(errors="replace")
    start = out.find("{")
    try:
        return json.loads(out[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        pass
    raise RuntimeError(f"mlscore exit {r.returncode}, no JSON report: "
                       f"{r.stderr.decode(errors='replace').strip()[:500]}")


def evidence_text(test, limit=3):
    items = []
    for e in (test.get("evidence") or [])[:limit]:
        loc = e.get("path", "?") + (f":{e['line']}" if e.get("line") else "")
        tag = "auto" if e.get("automated") else "manual"
        ci = e.get("ci")
        via = ""
        if isinstance(ci, dict):
            job = ci.get("job") or ci.get("name") or ""
            via = f" via {job}" if job else ""
        items.append(f"{e.get('what', '')} @ {loc} [{tag}{via}]")
    more = (test.get("evidence_total") or 0) - len(items)
    if more > 0:
        items.append(f"+{more} more")
    return "; ".join(items) if items else "no evidence"


# --------------------------------------------------------------------------
# Comparison


def compare(doc, report):
    tests = {t["id"]: t for t in report.get("tests", [])}
    ml_sections = {s["section"]: float(s["score"]) for s in report.get("sections", [])}
    hand = doc["tests"]
    hand_sections = {s: sum(hand[f"{s}-{i}"]["score"] for i in range(1, 8)) for s in SECTIONS}
    for s in SECTIONS:  # fall back to summing points if a section is absent
        if s not in ml_sections:
            ml_sections[s] = sum(float(tests.get(f"{s}-{i}", {}).get("points", 0))
                                 for i in range(1, 8))
    rows, agree = [], 0
    for tid in TEST_IDS:
        h = hand[tid]
        t = tests.get(tid)
        pts = float(t["points"]) if t else None
        lo, hi = h["range"]
        ok = pts is not None and lo - 1e-9 <= pts <= hi + 1e-9
        agree += ok
        rows.append({
            "test": tid, "hand": h["score"], "range": [lo, hi], "mlscore": pts,
            "status": t.get("status") if t else None, "agree": ok,
            "mlscore_evidence": evidence_text(t) if t else "test absent from report",
            "hand_evidence": h.get("evidence", ""),
        })
    hand_final = min(hand_sections.values())
    score = report.get("score", {})
    ml_final = float(score.get("final", min(ml_sections[s] for s in SECTIONS)))
    sec_err = sum(abs(hand_sections[s] - ml_sections[s]) for s in SECTIONS) / len(SECTIONS)
    return {
        "repo": doc["repo"], "commit": doc["commit"], "status": "ok",
        "agreement": agree, "tests": len(TEST_IDS),
        "hand_final": hand_final, "mlscore_final": ml_final,
        "final_within_half": abs(hand_final - ml_final) <= 0.5 + 1e-9,
        "hand_sections": hand_sections,
        "mlscore_sections": {s: ml_sections[s] for s in SECTIONS},
        "section_error": sec_err,
        "ci_detected": [c if isinstance(c, str) else str(c)
                        for c in report.get("ci", {}).get("systems", [])],
        "ci_hand": doc.get("ci") or [],
        "rows": rows,
    }


def fmt(x):
    return f"{x:g}" if x is not None else "-"


def print_repo(res):
    if res["status"] != "ok":
        print(f"== {res['repo']} @ {res['commit'][:12]}: SKIPPED ({res['reason']})\n")
        return
    hs, ms = res["hand_sections"], res["mlscore_sections"]
    print(f"== {res['repo']} @ {res['commit'][:12]}")
    print(f"   agreement {res['agreement']}/{res['tests']}"
          f" · final hand {fmt(res['hand_final'])} vs mlscore {fmt(res['mlscore_final'])}"
          f" ({'within' if res['final_within_half'] else 'NOT within'} 0.5)"
          f" · mean section error {res['section_error']:.2f}")
    print("   sections (hand/mlscore): " + "  ".join(
        f"{s} {fmt(hs[s])}/{fmt(ms[s])}" for s in SECTIONS))
    print(f"   CI hand {res['ci_hand']} · mlscore detected {res['ci_detected']}")
    if res.get("files_absent"):
        print(f"   note: {res['files_absent']} file(s) absent from the snapshot (large/LFS blobs)")
    for r in res["rows"]:
        if r["agree"]:
            continue
        lo, hi = r["range"]
        print(f"   ✗ {r['test']}: hand {fmt(r['hand'])} [{fmt(lo)}, {fmt(hi)}]"
              f" · mlscore {fmt(r['mlscore'])} ({r['status']})")
        print(f"       mlscore evidence: {r['mlscore_evidence']}")
    print()


def totals(results):
    ok = [r for r in results if r["status"] == "ok"]
    agree = sum(r["agreement"] for r in ok)
    n = sum(r["tests"] for r in ok)
    within = sum(r["final_within_half"] for r in ok)
    err = sum(r["section_error"] for r in ok) / len(ok) if ok else 0.0
    per_test = {}
    for r in ok:
        for row in r["rows"]:
            a = per_test.setdefault(row["test"], [0, 0])
            a[0] += row["agree"]
            a[1] += 1
    return {
        "repos": len(results), "scored": len(ok),
        "skipped": [{"repo": r["repo"], "reason": r["reason"]} for r in results if r["status"] != "ok"],
        "agreement": agree, "tests": n, "agreement_pct": 100.0 * agree / n if n else 0.0,
        "finals_within_half": within, "mean_section_error": err,
        "per_test_agreement": per_test,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mlscore", required=True, help="path to the mlscore binary")
    ap.add_argument("--clones", required=True, help="directory of owner+name git dirs or clones")
    ap.add_argument("--only", action="append", default=[],
                    help="only this repository (owner__name or owner/name); repeatable")
    ap.add_argument("--json", action="store_true", help="print a JSON summary instead of text")
    ap.add_argument("--corpus", default=HERE, help="directory of the corpus yaml files")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per mlscore run")
    args = ap.parse_args()

    binary = os.path.abspath(args.mlscore)
    wanted = {o.replace("/", "__") for o in args.only}
    files = sorted(f for f in os.listdir(args.corpus) if f.endswith(".yaml") and "__" in f)
    if wanted:
        files = [f for f in files if f[:-5] in wanted]
        if not files:
            print(f"no corpus file matches {sorted(wanted)}", file=sys.stderr)

    results = []
    for fname in files:
        path = os.path.join(args.corpus, fname)
        try:
            doc = load_corpus_file(path)
        except (CorpusError, OSError) as e:
            results.append({"repo": fname[:-5].replace("__", "/", 1), "commit": "?",
                            "status": "error", "reason": str(e)})
            continue
        git_dir = find_git_dir(args.clones, doc["repo"])
        if git_dir is None:
            res = {"repo": doc["repo"], "commit": doc["commit"], "status": "skipped",
                   "reason": f"no git dir for {doc['repo']} under {args.clones}"}
        elif not has_commit(git_dir, doc["commit"]):
            res = {"repo": doc["repo"], "commit": doc["commit"], "status": "skipped",
                   "reason": f"commit missing from {git_dir}"}
        else:
            tmp = tempfile.mkdtemp(prefix="mlscore-corpus-")
            try:
                tree = os.path.join(tmp, doc["repo"].split("/", 1)[1])
                os.makedirs(tree)
                absent = materialize(git_dir, doc["commit"], tree)
                report = run_mlscore(binary, tree, args.timeout)
                res = compare(doc, report)
                res["files_absent"] = absent
            except (RuntimeError, OSError, KeyError, TypeError, ValueError) as e:
                res = {"repo": doc["repo"], "commit": doc["commit"], "status": "error",
                       "reason": str(e)}
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        results.append(res)
        if not args.json:
            print_repo(res)
            sys.stdout.flush()

    tot = totals(results)
    if args.json:
        print(json.dumps({"results": results, "totals": tot}, indent=2))
    else:
        worst = sorted(tot["per_test_agreement"].items(), key=lambda kv: kv[1][0] / kv[1][1])[:8]
        if worst:
            print("least agreeing tests: " + ", ".join(f"{t} {a}/{n}" for t, (a, n) in worst))
        for s in tot["skipped"]:
            print(f"skipped {s['repo']}: {s['reason']}")
        print(f"agreement {tot['agreement']}/{tot['tests']} ({tot['agreement_pct']:.1f}%)"
              f" · finals within 0.5: {tot['finals_within_half']}/{tot['scored']}"
              f" · mean section error {tot['mean_section_error']:.2f}")
    return 0


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
    sys.exit(0)
