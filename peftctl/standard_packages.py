"""Which package provides which method: the standard packages the core depends on and the
optional ones published beside them. Torch-free; used to say what to install when a method
or recipe is missing."""

from __future__ import annotations

from collections.abc import Container

#: Installed with the core (``pip install peftctl``), one per method family.
STANDARD: dict[str, tuple[str, ...]] = {
    "peftctl-lora": ("lora", "dora", "loraplus", "pissa", "rslora", "olora", "lorafa"),
    "peftctl-prompt": ("prompt_tuning", "p_tuning", "mtp", "prefix_tuning", "p_tuning_v2"),
    "peftctl-adalora": ("adalora",),
    "peftctl-vera": ("vera",),
    "peftctl-oft": ("oft",),
    "peftctl-ia3": ("ia3",),
    "peftctl-lntuning": ("lntuning",),
}
#: Published with the core, installed on demand (``pip install 'peftctl[all-methods]'``).
OPTIONAL: dict[str, tuple[str, ...]] = {
    "peftctl-adapters": ("double_seq_bn", "seq_bn", "par_bn"),
    "peftctl-bitfit": ("bitfit",),
    "peftctl-galore": ("galore",),
    "peftctl-qlora": ("qlora",),
    "peftctl-svft": ("svft",),
    "peftctl-loha": ("loha",),
    "peftctl-lokr": ("lokr",),
    "peftctl-boft": ("boft",),
    "peftctl-hra": ("hra",),
    "peftctl-miss": ("miss",),
    "peftctl-shira": ("shira",),
    "peftctl-c3a": ("c3a",),
    "peftctl-randlora": ("randlora",),
    "peftctl-fourierft": ("fourierft",),
    "peftctl-vblora": ("vblora",),
    "peftctl-road": ("road",),
    "peftctl-delora": ("delora",),
    "peftctl-gralora": ("gralora",),
    "peftctl-hira": ("hira",),
    "peftctl-waveft": ("waveft",),
    "peftctl-osf": ("osf",),
    "peftctl-paca": ("paca",),
    "peftctl-glora": ("glora",),
    "peftctl-unilora": ("unilora",),
    "peftctl-psoft": ("psoft",),
    "peftctl-tinylora": ("tinylora",),
    "peftctl-pvera": ("pvera",),
    "peftctl-adamss": ("adamss",),
    "peftctl-beft": ("beft",),
    "peftctl-frod": ("frod",),
    "peftctl-deft": ("deft",),
    "peftctl-peanut": ("peanut",),
    "peftctl-supertuning": ("supertuning",),
    "peftctl-adaption": ("llama_adapter",),
}
#: Packages whose library pins transformers 4 -> why (they need an environment of their own
#: beside a transformers 5 core).
NEEDS_TRANSFORMERS_4: dict[str, str] = {"peftctl-adapters": "adapters 1.3 pins ~=4.57.6"}
#: method name -> the package that provides it
PACKAGE_OF: dict[str, str] = {
    method: package
    for packages in (STANDARD, OPTIONAL)
    for package, methods in packages.items()
    for method in methods
}


def missing_packages(installed: Container[str]) -> dict[str, str]:
    """``{method: package}`` of every known method whose package is not in ``installed``."""
    return {m: p for m, p in PACKAGE_OF.items() if p not in installed}


def recipe_method(recipe: str, methods: Container[str]) -> str | None:
    """The method of ``methods`` a recipe name ``<method>_<dataset>`` starts with (longest)."""
    found = [m for m in PACKAGE_OF if m in methods and recipe.startswith(f"{m}_")]
    return max(found, key=len, default=None)


def not_installed(kind: str, name: str, package: str) -> str:
    """The one-line message for a ``kind`` (method, recipe) whose ``package`` is missing."""
    missing = f"comes from the package {package}, which is not installed"
    transformers = _installed_version("transformers")
    if package in NEEDS_TRANSFORMERS_4 and not transformers.startswith("4."):
        return (
            f"{kind} '{name}' {missing} and needs transformers 4.57 "
            f"({NEEDS_TRANSFORMERS_4[package]}; this environment has {transformers}): "
            f"pip install {package} in an environment of its own"
        )
    return f"{kind} '{name}' {missing}: pip install {package}"


def _installed_version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "none"
