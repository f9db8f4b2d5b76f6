with

source as (
    select * from {{ source('landing', 'rls_user_access') }}
),

renamed as (
    select
        -- who
        {{ normalize_email('user_email') }} as user_email,

        -- codes
        {{ normalize_code('access_level') }} as access_level,
        {{ normalize_code('access_value') }} as access_value,

        -- flags
        is_active,

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
        -- access rows have no updated_at: the later file, then the later row wins
        row_number() over (
            partition by user_email, access_level, access_value
            order by {{ latest_version_order(updated_at=none) }}
        ) as version_rank
    from current_drop
    -- access_value is null by design for NATIONAL rows, so only e-mail and level must be present
    where user_email is not null
        and access_level is not null
)

select
    user_email, access_level, access_value, is_active,
    drop_date, _source_file, _source_row, _loaded_at
from deduplicated
where version_rank = 1
