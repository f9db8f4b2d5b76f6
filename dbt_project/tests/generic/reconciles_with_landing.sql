{#- R2/R3 reconciliation of a fact with its landed rows: every landed row ends as a fact, as a
    version superseded by R3, or as a reject, so

        landed rows = fact rows + rejected rows + superseded versions.

    `landed` is the staging view of the dataset (one row per landed row, codes R1-normalised);
    `rejects` is dq_rejected_rows. Superseded versions are counted independently of the fact:
    the landed rows that are not rejects, minus their distinct keys. Fails with one row holding
    the four counts when the equation does not hold. -#}
{% test reconciles_with_landing(model, landed, rejects, dataset, key_columns) %}

with

landed_rows as (
    select * from {{ landed }}
),

rejected_rows as (
    select * from {{ rejects }}
    where dataset = '{{ dataset }}'
),

fact_rows as (
    select * from {{ model }}
),

valid_rows as (
    select landed_rows.*
    from landed_rows
    left join rejected_rows
        on landed_rows._source_file = rejected_rows.source_file
        and landed_rows._source_row = rejected_rows.source_row
        and landed_rows._loaded_at = rejected_rows._loaded_at
    where rejected_rows.source_file is null
),

valid_keys as (
    select distinct {{ key_columns | join(', ') }}
    from valid_rows
),

counts as (
    select
        (select count(*) from landed_rows) as landed_count,
        (select count(*) from fact_rows) as fact_count,
        (select count(*) from rejected_rows) as rejected_count,
        (select count(*) from valid_rows) - (select count(*) from valid_keys) as superseded_count
)

select * from counts
where landed_count <> fact_count + rejected_count + superseded_count

{% endtest %}
