"""What the bench scripts share for their reports."""


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of the values; NaN when there are none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")
