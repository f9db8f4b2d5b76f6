with

source as (
    select * from {{ source('landing', 'customer_master') }}
),

renamed as (
    select
        -- codes
        {{ normalize_code('customer_code') }} as customer_code,
        {{ normalize_code('customer_type') }} as customer_type,
        {{ normalize_code('distributor_code') }} as distributor_code,
        {{ normalize_code('tsr_code') }} as tsr_code,

        -- descriptive text (left as delivered; pincode is not a code under R1)
        customer_name,
        city,
        state,
        pincode,
        channel,

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
    dataset='customer_master',
    key=['customer_code'],
    required=['customer_code'],
) }}

select
    customer_code, customer_name, customer_type, distributor_code, tsr_code,
    city, state, pincode, channel, is_active, updated_at,
    drop_date, _source_file, _source_row, _loaded_at
from deduplicated
where version_rank = 1
