"""Evaluation: objective metrics (metrics.py) and the GRID word recogniser (asr.py), the scores of one
utterance and their summaries (scoring.py), the evaluation folder RUN/eval-*/ (eval_folder.py, its only writer
and reader), evaluate_run (evaluate.py) and the controls a system must beat (controls.py).

Import the modules themselves (`from lip2speech.evaluation.metrics import stoi`): this face loads nothing."""
