with

source as (
    select * from {{ source('landing', 'material_master') }}
),

renamed as (
    select
        -- codes
        {{ normalize_code('material_code') }} as material_code,

        -- descriptive text (left as delivered)
        material_desc,
        brand,
        category,
        sub_category,
        uom,

        -- measures
        pack_size,
        mrp,

        -- flags and dates
        is_active,
        updated_at,

        -- lineage
        {{ drop_date('_source_file') }} as drop_date,
        _source_file,
        _source_row,
        _loaded_at
    from source
),

{{ datawiz.current_drop_versions(
    'renamed',
    dataset='material_master',
    key=['material_code'],
    required=['material_code'],
) }}

select
    material_code, material_desc, brand, category, sub_category, pack_size, uom, mrp,
    is_active, updated_at, drop_date, _source_file, _source_row, _loaded_at
from deduplicated
where version_rank = 1
