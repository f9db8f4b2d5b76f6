{#- A composite key is unique: no combination of `columns` occurs on more than one row.
    (dbt_utils.unique_combination_of_columns, which cannot be installed here.) -#}
{% test unique_key_combination(model, columns) %}

with

keyed as (
    select
        {% for column in columns -%}
        {{ column }}{{ ',' if not loop.last }}
        {% endfor %}
    from {{ model }}
),

duplicated as (
    select
        {% for column in columns -%}
        {{ column }},
        {% endfor -%}
        count(*) as row_count
    from keyed
    group by
        {% for column in columns -%}
        {{ column }}{{ ',' if not loop.last }}
        {% endfor %}
    having count(*) > 1
)

select * from duplicated

{% endtest %}
