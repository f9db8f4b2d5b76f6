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

-- access rows have no updated_at: the later file, then the later row wins; access_value is
-- null by design for NATIONAL rows, so only e-mail and level must be present
{{ datawiz.current_drop_versions(
    'renamed',
    dataset='rls_user_access',
    key=['user_email', 'access_level', 'access_value'],
    required=['user_email', 'access_level'],
    updated_at=none,
) }}

select
    user_email, access_level, access_value, is_active,
    drop_date, _source_file, _source_row, _loaded_at
from deduplicated
where version_rank = 1
