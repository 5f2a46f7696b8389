"""Sphinx configuration: ``make docs`` builds the site into ``docs/_build/html``, offline.

Sphinx, because the three projects our users already read (scikit-learn, PyTorch's
tutorials, CompressAI) build theirs with it: sphinx-gallery runs every example at build
time and renders its figures, sphinx-click writes the CLI reference from the click
commands themselves, autodoc the API reference from the docstrings, and the PyData theme
is scikit-learn's. The user guide is Markdown (MyST).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from autoencoders import __version__

DOCS = Path(__file__).parent
RESULTS = DOCS.parent / "benchmarks" / "results"

project = "autoencoders"
release = version = __version__
copyright = "the autoencoders authors"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx_click",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
myst_enable_extensions = ["dollarmath"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "**.zip"]
suppress_warnings = ["myst.header"]  # benchmark tables start at their own heading level

# scikit-learn's metadata-routing setters are inherited plumbing, documented there.
autodoc_default_options = {
    "members": True,
    "show-inheritance": False,
    "exclude-members": "set_fit_request, set_score_request, set_transform_request, "
    "set_inverse_transform_request, set_predict_request, set_output",
}
autodoc_typehints = "description"
autodoc_member_order = "bysource"

sphinx_gallery_conf = {
    "examples_dirs": str(DOCS.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
}

html_theme = "pydata_sphinx_theme"
html_title = f"autoencoders {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
# The theme logs a console error when it finds no mode to start from; start in auto.
html_context = {"default_mode": "auto"}
html_static_path = ["_static"]
html_favicon = "_static/favicon.png"
html_last_updated_fmt = None


def write_benchmark_pages(app) -> None:
    """One page per committed benchmark result: the table its script wrote beside the
    JSON of the same run (``benchmarks/results/NAME.md``), so the site never restates a
    figure by hand."""
    folder = DOCS / "benchmarks"
    folder.mkdir(exist_ok=True)
    names = sorted(p.stem for p in RESULTS.glob("*.md") if (RESULTS / f"{p.stem}.json").exists())
    for name in names:
        page = f"```{{include}} ../../benchmarks/results/{name}.md\n:relative-images:\n```\n"
        if not (RESULTS / f"{name}.md").read_text().startswith("#"):
            page = f"# {name.replace('_', ' ').replace('-', ': ', 1)}\n\n{page}"
        target = folder / f"{name}.md"
        if not target.exists() or target.read_text() != page:
            target.write_text(page)
    toc = "\n".join(names)
    index = (
        "# Benchmarks\n\nEvery table below was written by a script in `benchmarks/` together "
        "with a JSON file of the same run (`benchmarks/results/NAME.json`); each names its "
        "command, its machine (CPU model and cores) and its library versions.\n\n"
        f"```{{toctree}}\n:maxdepth: 1\n\n{toc}\n```\n"
    )
    if not (folder / "index.md").exists() or (folder / "index.md").read_text() != index:
        (folder / "index.md").write_text(index)


def write_zoo_page(app) -> None:
    """The model zoo page, from the model cards the package ships."""
    from autoencoders import zoo

    lines = [
        "# Model zoo",
        "",
        "Small pretrained models shipped with the package (`config.json` + "
        "`model.safetensors`, never a pickle). Use `zoo:NAME` wherever a run directory "
        "goes, `autoencoders.zoo.load(NAME)` in Python, and `autoencoders zoo list` / "
        "`autoencoders zoo show NAME` for their cards. Each was made by the one command "
        "on its card, from the shared data, with a fixed seed; the test suite loads "
        "every model, checks its files' SHA-256 against its card and re-measures it on "
        "the few test images shipped beside it.",
        "",
        "| name | what | trained on | test metrics |",
        "|---|---|---|---|",
    ]
    made = ["", "## How each was made", ""]
    for name in zoo.names():
        card = zoo.card(name)
        metrics = ", ".join(f"{k} {v:.4g}" for k, v in card["test_metrics"].items())
        lines.append(f"| `zoo:{name}` | {card['description']} | {card['data']} | {metrics} |")
        made.append(
            f"- `zoo:{name}`: `{card['command']}`, {card['train_seconds']:.0f} s on "
            f"{card['machine']['cpu']} with {card['threads']} threads."
        )
    lines += made
    size = sum(p.stat().st_size for d in (zoo.MODELS, zoo.SAMPLES) for p in d.rglob("*"))
    lines += ["", f"All of it, samples included: {size / 1e6:.1f} MB.", ""]
    page = "\n".join(lines)
    target = DOCS / "zoo.md"
    if not target.exists() or target.read_text() != page:
        target.write_text(page)


def setup(app) -> None:
    app.connect("builder-inited", write_benchmark_pages)
    app.connect("builder-inited", write_zoo_page)
