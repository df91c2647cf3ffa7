"""What every stage shares: errors, where files live, the resolved settings, the data's facts, the entry point.

One folder, so each stage lists it once in dvc.yaml: DVC rewrites dvc.lock after every stage, and a
shorter lockfile is a faster `dvc repro`.
"""
