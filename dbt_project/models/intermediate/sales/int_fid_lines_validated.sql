{#- R2 on every landed fid line: `reject_reason` is null for a fact candidate, else why the line
    is not a fact. fct_primary_dispatch keeps the candidates, dq_rejected_rows the rest. -#}
with

lines as (
    select * from {{ ref('stg_landing__fid') }}
),

validated as (
    select
        *,
        {{ datawiz.fact_reject_reason(
            required=['delivery_no', 'delivery_line', 'dispatch_date'],
        ) }} as reject_reason
    from lines
)

select * from validated
