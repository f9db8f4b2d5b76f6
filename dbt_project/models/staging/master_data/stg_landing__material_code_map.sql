with

source as (
    select * from {{ source('landing', 'material_code_map') }}
),

renamed as (
    select
        -- codes
        {{ normalize_code('old_material_code') }} as old_material_code,
        {{ normalize_code('new_material_code') }} as new_material_code,

        -- dates
        effective_from,

        -- lineage
        {{ drop_date('_source_file') }} as drop_date,
        _source_file,
        _source_row,
        _loaded_at
    from source
),

-- the map has no updated_at: the later file, then the later row wins
{{ datawiz.current_drop_versions(
    'renamed',
    dataset='material_code_map',
    key=['old_material_code', 'effective_from'],
    required=['old_material_code', 'effective_from'],
    updated_at=none,
) }}

select
    old_material_code, new_material_code, effective_from,
    drop_date, _source_file, _source_row, _loaded_at
from deduplicated
where version_rank = 1
