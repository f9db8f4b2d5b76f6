"""What happens when: the evening and morning pipelines, their steps, and how steps run."""
