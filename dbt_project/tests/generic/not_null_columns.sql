{#- Every one of `columns` is filled on every row. One test for a model's required non-key
    columns instead of one `not_null` per column: each test is a node, and the morning build pays
    a fixed cost per node whatever the volume. A failing row shows the listed columns, so the
    null one is plain to see. Key columns keep their own `not_null` (and `unique`) tests. -#}
{% test not_null_columns(model, columns) %}

select
    {% for column in columns -%}
    {{ column }}{{ ',' if not loop.last }}
    {% endfor %}
from {{ model }}
where
    {% for column in columns -%}
    {{ column }} is null{{ ' or' if not loop.last }}
    {% endfor %}

{% endtest %}
