"""Training the trainable counterparts of the compiled models on the task library, and evaluating
their length generalisation (``train``, ``curriculum``, ``evaluate``)."""
