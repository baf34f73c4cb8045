"""From the job fair to departure: recruitment orders, interviews, training, the funnel and labour
demand (issue #18, part A). Each view module has a ``build_*()`` returning a view dataclass."""
