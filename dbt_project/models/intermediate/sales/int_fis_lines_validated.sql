{#- R2 on every landed fis line: `reject_reason` is null for a fact candidate, else why the line
    is not a fact. fct_secondary_sales keeps the candidates, dq_rejected_rows the rest. -#}
with

lines as (
    select * from {{ ref('stg_landing__fis') }}
),

validated as (
    select
        *,
        {{ datawiz.fact_reject_reason(
            required=['invoice_no', 'invoice_line', 'invoice_date'],
            accepted={'doc_type': ['INV', 'CRN']},
        ) }} as reject_reason
    from lines
)

select * from validated
