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

current_drop as (
    select * from renamed
    where drop_date = (select max(drop_date) from renamed)
),

deduplicated as (
    select
        *,
        -- the map has no updated_at: the later file, then the later row wins
        row_number() over (
            partition by old_material_code, effective_from
            order by {{ latest_version_order(updated_at=none) }}
        ) as version_rank
    from current_drop
    where old_material_code is not null
        and effective_from is not null
)

select
    old_material_code, new_material_code, effective_from,
    drop_date, _source_file, _source_row, _loaded_at
from deduplicated
where version_rank = 1
