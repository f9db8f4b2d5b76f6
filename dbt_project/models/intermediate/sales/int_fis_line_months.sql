{#- Every month each fis invoice line has had a valid landed version in: one row per (invoice_no,
    invoice_line, month_start). The monthly relations built from the fact look up here which
    months a line written by a run was in before (a correction can move a line to another
    month, which the fact no longer shows), without normalising every landed row again. -#}
{{ config(**datawiz.upsert_config(key=['invoice_no', 'invoice_line', 'month_start'])) }}

with

lines as (
    select * from {{ ref('int_fis_lines_validated') }}
),

final as (
    select
        invoice_no,
        invoice_line,
        {{ datawiz.month_start('invoice_date') }} as month_start,
        -- the incremental watermark: the latest landing of a version in that month
        max(_loaded_at) as _loaded_at
    from lines
    where reject_reason is null
    {%- if is_incremental() %}
        and {{ datawiz.landed_since_watermark(this) }}
    {%- endif %}
    group by 1, 2, 3
)

select * from final
