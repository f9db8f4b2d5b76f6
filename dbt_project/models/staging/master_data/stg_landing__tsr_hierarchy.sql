with

source as (
    select * from {{ source('landing', 'tsr_hierarchy') }}
),

renamed as (
    select
        -- codes
        {{ normalize_code('tsr_code') }} as tsr_code,
        {{ normalize_code('territory_code') }} as territory_code,
        {{ normalize_code('so_code') }} as so_code,
        {{ normalize_code('asm_code') }} as asm_code,
        {{ normalize_code('region_code') }} as region_code,
        {{ normalize_code('zone_code') }} as zone_code,

        -- names (left as delivered)
        tsr_name,
        territory_name,

        -- dates
        effective_from,
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
    dataset='tsr_hierarchy',
    key=['tsr_code', 'effective_from'],
    required=['tsr_code', 'effective_from'],
) }}

select
    tsr_code, tsr_name, territory_code, territory_name, so_code, asm_code,
    region_code, zone_code, effective_from, updated_at,
    drop_date, _source_file, _source_row, _loaded_at
from deduplicated
where version_rank = 1
