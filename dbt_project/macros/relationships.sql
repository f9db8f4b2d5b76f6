{#- dbt's built-in `relationships` test (the same query, overriding dbt's default__ through
    dispatch), with one more column: `child_codes`, the number of distinct non-null codes the
    tested column holds. A failing row is an orphan code, as before; the extra column lets an
    `error_if` threshold be a share of the codes rather than a count, e.g.
    `error_if: "> 0.025 * max(child_codes)"` (dbt compares `fail_calc <error_if>` over the
    failing rows). A count calibrated on one volume (500 unknown retailers of 20,000) would
    be wrong at another (the same 2.5% of a 200,000-retailer master is 5,000). -#}
{% macro default__test_relationships(model, column_name, to, field) %}

with child as (
    select {{ column_name }} as from_field
    from {{ model }}
    where {{ column_name }} is not null
),

parent as (
    select {{ field }} as to_field
    from {{ to }}
),

child_codes as (
    select count(distinct from_field) as child_codes
    from child
)

select
    child.from_field,
    child_codes.child_codes
from child
cross join child_codes
left join parent
    on child.from_field = parent.to_field
where parent.to_field is null

{% endmacro %}
