{#- R2: one row per landed fis/fid row that is not a fact, with the reason. Incremental: each run
    appends the rejects among the rows landed since the newest reject it holds of that dataset. -#}
{{ config(**datawiz.upsert_config(key=['dataset', 'source_file', 'source_row', '_loaded_at'], buckets=1)) }}

with

fis_lines as (
    select * from {{ ref('int_fis_lines_validated') }}
),

fid_lines as (
    select * from {{ ref('int_fid_lines_validated') }}
),

fis_rejects as (
    select
        'fis' as dataset,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at,
        reject_reason as reason
    from fis_lines
    where reject_reason is not null
    {%- if is_incremental() %}
        and {{ datawiz.landed_since_watermark(this, where="dataset = 'fis'") }}
    {%- endif %}
),

fid_rejects as (
    select
        'fid' as dataset,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at,
        reject_reason as reason
    from fid_lines
    where reject_reason is not null
    {%- if is_incremental() %}
        and {{ datawiz.landed_since_watermark(this, where="dataset = 'fid'") }}
    {%- endif %}
),

final as (
    select * from fis_rejects
    union all
    select * from fid_rejects
)

select * from final
