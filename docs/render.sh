#!/usr/bin/env bash
# Renders the README's pictures of mlscore's output, from the bundled mature
# example, with the mlscore on PATH (or $MLSCORE):
#   docs/pr-comment.png      the pull-request comment (the Markdown report,
#                            rendered to HTML with GitHub-like styles)
#   docs/terminal-report.png the terminal report, in colour (via aha)
# Needs: chromium, aha and fonts-noto-color-emoji (Debian packages), python3
# with `markdown` (PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
mlscore=${MLSCORE:-mlscore}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! python3 -c 'import markdown' 2>/dev/null; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install --quiet "markdown==3.9"
  py="$work/venv/bin/python"
else
  py=python3
fi

# The comment: what `mlscore ci` posts, from the same renderer.
"$mlscore" check examples/mature --no-probes -o "markdown=$work/comment.md" >/dev/null || true
"$py" - "$work/comment.md" "$work/comment.html" <<'PY'
import sys, markdown
text = open(sys.argv[1], encoding="utf-8").read()
body = markdown.markdown(text, extensions=["tables", "fenced_code", "md_in_html"])
css = """
body { font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
       font-size: 14px; line-height: 1.5; color: #1f2328; background: #f6f8fa; margin: 0; padding: 16px; }
.comment { max-width: 860px; margin: 0 auto; background: #fff; border: 1px solid #d1d9e0; border-radius: 6px; }
.head { background: #f6f8fa; border-bottom: 1px solid #d1d9e0; padding: 8px 16px; color: #59636e; border-radius: 6px 6px 0 0; }
.head b { color: #1f2328; }
.body { padding: 16px; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; }
tr:nth-child(2n) { background: #f6f8fa; }
code { background: #eff1f3; padding: .2em .4em; border-radius: 6px; font-size: 85%; }
h1, h2, h3 { border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; }
details { margin: 8px 0; } summary { cursor: pointer; font-weight: 600; }
"""
html = f"""<!doctype html><meta charset="utf-8"><style>{css}</style>
<div class="comment"><div class="head"><b>github-actions</b> bot commented</div><div class="body">{body}</div></div>"""
open(sys.argv[2], "w", encoding="utf-8").write(html)
PY
# Open the <details> so that the picture shows what is inside.
sed -i 's/<details>/<details open>/g' "$work/comment.html"

# The terminal report, in colour.
"$mlscore" check examples/mature --no-probes --color always 2>&1 | aha --black --title "mlscore check" >"$work/terminal.html" || true
sed -i 's|<body[^>]*>|<body style="background:#0d1117;color:#e6edf3;font-family:DejaVu Sans Mono,monospace;font-size:13px;padding:12px;margin:0">|' "$work/terminal.html"

shot() {
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size="$3" --screenshot="$2" "file://$1" >/dev/null 2>&1
}
shot "$work/comment.html" docs/pr-comment.png 900,1600
shot "$work/terminal.html" docs/terminal-report.png 900,1500
ls -l docs/*.png
