{#- R1 only. Latest-version-wins (R3) runs in fct_primary_dispatch, against what the fact already
    holds, so that incremental runs read only newly landed rows. -#}
with

source as (
    select * from {{ source('landing', 'fid') }}
),

renamed as (
    select
        -- ids
        {{ normalize_code('delivery_no') }} as delivery_no,
        delivery_line,

        -- codes
        {{ normalize_code('plant_code') }} as plant_code,
        {{ normalize_code('distributor_code') }} as distributor_code,
        {{ normalize_code('material_code') }} as material_code,

        -- amounts
        qty,
        net_value,

        -- dates
        dispatch_date,
        updated_at,

        -- lineage
        _source_file,
        _source_row,
        _loaded_at
    from source
)

select * from renamed
