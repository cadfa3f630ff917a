"""cmbench's reports: results -> pandas -> tables, seaborn plots and a static jinja2 site.

Reports read only what the store wrote (results/<run>/run.json and results.csv). The public
surface: load runs, build the site, compare two runs, evaluate the claims ledger.
"""

from reports.claims import Verdict, evaluate, evaluate_all
from reports.claims_ledger import Ledger, load_ledger
from reports.compare import Comparison, compare_runs, render_terminal
from reports.data import Results, Run, load_results, summarize
from reports.significance import mann_whitney, verdict
from reports.site import SiteSummary, build_compare_site, build_site

__all__ = [
    "Comparison",
    "Ledger",
    "Results",
    "Run",
    "SiteSummary",
    "Verdict",
    "build_compare_site",
    "build_site",
    "compare_runs",
    "evaluate",
    "evaluate_all",
    "load_ledger",
    "load_results",
    "mann_whitney",
    "render_terminal",
    "summarize",
    "verdict",
]
