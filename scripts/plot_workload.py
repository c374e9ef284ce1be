#!/usr/bin/env python3
"""Speed-quality plot of a `pangu adapt workload` result: one point per strategy (tokens/s over the whole
workload against quality, ROUGE-L of its outputs against base with plain decoding), the Pareto front of the
fixed strategies drawn as a line, auto marked. Usage: plot_workload.py workload.json out.png"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def pareto(points):
    """The points no other point beats in both speed and quality, by speed."""
    front = [p for p in points if not any(q[0] >= p[0] and q[1] >= p[1] and q != p for q in points)]
    return sorted(front)


def main():
    result = json.load(open(sys.argv[1]))
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
    fixed = []
    for i, s in enumerate(result["strategies"]):
        x, y = s["tokens_per_s"], s["quality"]
        if s["name"] == "auto":
            ax.scatter([x], [y], s=140, marker="*", color="crimson", zorder=3, label="auto")
            ax.annotate("auto", (x, y), textcoords="offset points", xytext=(6, -12), color="crimson")
        else:
            fixed.append((x, y))
            ax.scatter([x], [y], s=36, color="steelblue", zorder=2)
            # Alternate above and below: strategies of one variant sit on one quality level.
            ax.annotate(s["name"], (x, y), textcoords="offset points", xytext=(5, 4 if i % 2 else -11), fontsize=7)
    front = pareto(fixed)
    ax.plot([p[0] for p in front], [p[1] for p in front], "--", color="gray", zorder=1,
            label="Pareto front of fixed strategies")
    ax.set_xlabel("tokens/s over the workload (generated tokens / prefill+decode time)")
    ax.set_ylabel("quality: ROUGE-L vs base plain output (0-100)")
    ax.set_title(f"{result['requests']} mixed requests, {result['max_tokens']} new tokens, "
                 f"{result['threads']} threads")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(sys.argv[2])


if __name__ == "__main__":
    main()
