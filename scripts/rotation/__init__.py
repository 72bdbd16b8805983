"""The rotation: model, loading rotation.yaml, schedule engine, history, fairness and checks."""
