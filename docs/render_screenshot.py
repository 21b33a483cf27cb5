"""Render the quickstart's markdown plan as a GitHub pull-request comment and screenshot it: docs/plan-comment.png.

One-time setup (Debian; as root):

    apt-get update && apt-get install -y chromium fonts-noto-color-emoji   # the emoji font: the safety mark
    .venv/bin/pip install markdown                                          # next to an installed leadsync

Run from anywhere:

    .venv/bin/python docs/render_screenshot.py [--out docs/plan-comment.png] [--html plan-comment.html]

It plans a temporary copy of specs/examples/quickstart.* (the embedded sandbox: no key, no network, and the
repository's own sandbox state is left alone), renders the markdown with the `markdown` package (tables
extension) inside a GitHub-like comment frame with inline CSS, measures the page with one headless Chromium run
(--dump-dom) and screenshots it at that height with a second.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 1000  # px: about a pull request's timeline column plus margins

CSS = """
* { box-sizing: border-box; }
html, body { margin: 0; background: #ffffff; }
body { font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif,
       "Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji"; font-size: 14px; line-height: 1.5; color: #1f2328;
       padding: 24px 24px 24px 24px; }
.timeline { display: flex; gap: 16px; align-items: flex-start; }
.avatar { flex: none; width: 40px; height: 40px; border-radius: 50%; background: #2da44e; color: #fff;
          font-weight: 600; font-size: 18px; display: flex; align-items: center; justify-content: center; }
.comment { flex: 1; min-width: 0; border: 1px solid #d1d9e0; border-radius: 6px; position: relative; }
.comment::before { content: ""; position: absolute; top: 11px; left: -8px; width: 14px; height: 14px;
                   background: #f6f8fa; border-left: 1px solid #d1d9e0; border-bottom: 1px solid #d1d9e0;
                   transform: rotate(45deg); }
.header { background: #f6f8fa; border-bottom: 1px solid #d1d9e0; border-radius: 6px 6px 0 0; padding: 8px 16px;
          color: #59636e; display: flex; align-items: center; gap: 6px; }
.header b { color: #1f2328; }
.badge { border: 1px solid #d1d9e0; border-radius: 2em; padding: 0 7px; font-size: 12px; font-weight: 500; }
.markdown-body { padding: 16px; }
.markdown-body > :first-child { margin-top: 0; }
.markdown-body > :last-child { margin-bottom: 0; }
.markdown-body h3 { font-size: 1.25em; font-weight: 600; margin: 24px 0 16px; line-height: 1.25; }
.markdown-body h4 { font-size: 1em; font-weight: 600; margin: 24px 0 16px; line-height: 1.25; }
.markdown-body p, .markdown-body ul, .markdown-body table, .markdown-body details { margin: 0 0 16px; }
.markdown-body ul { padding-left: 2em; }
.markdown-body li + li { margin-top: 0.25em; }
.markdown-body code { font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono",
                      monospace; font-size: 85%; padding: 0.2em 0.4em; background: rgba(129, 139, 152, 0.12);
                      border-radius: 6px; }
.markdown-body table { border-spacing: 0; border-collapse: collapse; display: block; width: max-content;
                       max-width: 100%; overflow: auto; font-variant-numeric: tabular-nums; }
.markdown-body th { font-weight: 600; }
.markdown-body th, .markdown-body td { padding: 6px 13px; border: 1px solid #d1d9e0; }
.markdown-body tr { background: #ffffff; border-top: 1px solid #d1d9e0; }
.markdown-body tbody tr:nth-child(2n) { background: #f6f8fa; }
.markdown-body summary { cursor: pointer; display: list-item; }
.markdown-body sub { color: #59636e; }
.markdown-body a { color: #0969da; text-decoration: none; }
"""


def find_leadsync() -> str:
    here = Path(sys.executable).parent / "leadsync"
    found = str(here) if here.exists() else shutil.which("leadsync")
    if not found:
        sys.exit("Error: leadsync is not installed next to this Python nor on PATH (pip install -e .)")
    return found


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit("Error: no Chromium: apt-get update && apt-get install -y chromium")


def markdown_plan() -> str:
    with tempfile.TemporaryDirectory(prefix="leadsync-screenshot-") as tmp:
        for source in (ROOT / "specs" / "examples").glob("quickstart.*"):
            shutil.copy(source, Path(tmp) / source.name)
        env = {**os.environ, "NO_COLOR": "1"}
        done = subprocess.run(
            [find_leadsync(), "plan", "quickstart.yaml", "--format", "markdown"],
            check=False,
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            sys.exit(f"Error: leadsync plan failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout


def page(plan: str) -> str:
    try:
        import markdown
    except ImportError:
        sys.exit("Error: pip install markdown")
    # what the action posts: the hidden marker, the plan, a footer with the commit and the run
    comment = (
        f"<!-- leadsync-plan: specs/examples/quickstart.yaml -->\n{plan.rstrip()}\n\n"
        "<sub>leadsync plan of `specs/examples/quickstart.yaml` at 1e5da95 · [run](#)</sub>\n"
    )
    body = markdown.markdown(comment, extensions=["tables", "fenced_code"], output_format="html")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>leadsync plan comment</title><style>{CSS}</style></head>
<body><div class="timeline">
  <div class="avatar"><svg width="18" height="18" viewBox="0 0 16 16" fill="#fff" aria-hidden="true">
    <path d="M4 2.5v11l9.5-5.5z"/></svg></div>
  <div class="comment">
    <div class="header"><b>github-actions</b><span class="badge">bot</span> commented 2 minutes ago</div>
    <div class="markdown-body">{body}</div>
  </div>
</div>
<script>
  const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
  document.body.setAttribute("data-height", height);
</script>
</body></html>
"""


def chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--user-data-dir={profile}",
    ]
    done = subprocess.run([find_chromium(), *flags, *args], check=False, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        sys.exit(f"Error: chromium failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "plan-comment.png")
    parser.add_argument("--html", type=Path, help="also keep the rendered HTML here")
    options = parser.parse_args()

    document = page(markdown_plan())
    with tempfile.TemporaryDirectory(prefix="leadsync-chromium-") as tmp:
        source = Path(tmp) / "comment.html"
        source.write_text(document, encoding="utf-8")
        if options.html:
            options.html.write_text(document, encoding="utf-8")
        url = source.as_uri()
        dom = chromium([f"--window-size={WIDTH},2400", "--dump-dom", url], Path(tmp) / "profile-1").stdout
        match = re.search(r'data-height="(\d+)"', dom)
        height = min(int(match.group(1)) if match else 2400, 8000)
        out = options.out.resolve()
        out.parent.mkdir(parents=True, exist_ok=True)
        chromium([f"--window-size={WIDTH},{height}", f"--screenshot={out}", url], Path(tmp) / "profile-2")
    print(f"{out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}: {WIDTH}x{height}")


if __name__ == "__main__":
    main()
