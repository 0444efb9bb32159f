"""`engine evaluate`: honest numbers on unseen artists: metrics, scores, calibration and reports."""
