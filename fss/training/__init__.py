"""Training: the rows (what each ablation uses), the per-method steps, the loop with
checkpoints/resume, and the params sections they read."""
