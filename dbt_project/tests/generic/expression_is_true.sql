{#- Every row satisfies a boolean SQL expression (dbt_utils.expression_is_true, which cannot be
    installed here). Fails with the rows where `expression` is false or null; usable on a model
    or on a column (the column name is then ignored: the expression names what it checks). Combine with the
    `where` config to restrict the rows checked. -#}
{% test expression_is_true(model, expression, column_name=none) %}

with

checked as (
    select * from {{ model }}
),

violations as (
    select *
    from checked
    where not coalesce({{ expression }}, false)
)

select * from violations

{% endtest %}
