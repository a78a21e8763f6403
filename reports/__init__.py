"""Reports: `from reports import DataVisualization` (imported lazily: models load later)."""


def __getattr__(name: str):
    if name == "DataVisualization":
        from .visualization import DataVisualization

        return DataVisualization
    raise AttributeError(f"module 'reports' has no attribute {name!r}")
