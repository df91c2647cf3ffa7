"""The evaluate stage's scoring: metrics from scikit-learn, baselines, and what the plots need (no torch)."""
